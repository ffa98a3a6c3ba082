package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mcpgw/mcpgw/envoy"
	"github.com/mcpgw/mcpgw/extproc"
	"github.com/mcpgw/mcpgw/sessions"
	"github.com/mcpgw/mcpgw/sidecar"
)

// Options configure a whole-gateway Instance.
type Options struct {
	// EnvoyBin is the Envoy binary to run. Required.
	EnvoyBin string
	// Port is the listener port; zero means the config's gateway.port.
	Port int
	// AdminPort is Envoy's admin port on 127.0.0.1; zero picks a free one.
	AdminPort int
	// AccessLog is where Envoy writes its access log; "" means a file in
	// the instance's work directory (see Instance.AccessLogPath).
	AccessLog string
	// EnvoyOutput receives Envoy's own log; nil discards it.
	EnvoyOutput io.Writer
	// EnvoyLogLevel is Envoy's --log-level; "" means warn.
	EnvoyLogLevel string
	// Logger receives the gateway's structured logs; nil discards them.
	Logger *slog.Logger
}

// Instance is a running gateway: ext_proc service and sidecar on loopback
// in this process, Envoy in front of them as a child process.
type Instance struct {
	Runtime       *Runtime
	Endpoint      string // the aggregated MCP endpoint URL
	Port          int
	AdminAddr     string
	AccessLogPath string

	ExtProc  *extproc.Server
	Sessions *sessions.Pool
	Sidecar  *sidecar.Server

	envoy  *Envoy
	dir    string
	cancel context.CancelFunc
	wg     sync.WaitGroup
	errc   chan error
	once   sync.Once
}

// Start brings the whole gateway up and returns once Envoy is ready.
func Start(ctx context.Context, rt *Runtime, opts Options) (inst *Instance, err error) {
	if opts.EnvoyBin == "" {
		return nil, errors.New("gateway: no Envoy binary")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	inst = &Instance{Runtime: rt, cancel: cancel, errc: make(chan error, 4)}
	defer func() {
		if err != nil {
			inst.Close()
		}
	}()

	inst.ExtProc, inst.Sessions = NewExtProc(rt, log)
	extLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return inst, err
	}
	inst.serve(func() error {
		return ServeExtProc(runCtx, extLis, inst.ExtProc, rt.Config.Gateway.MaxRequestBodyBytes, log)
	})

	inst.Sidecar, err = NewSidecar(rt, log)
	if err != nil {
		return inst, err
	}
	sideLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return inst, err
	}
	inst.serve(func() error { return ServeHTTP(runCtx, sideLis, inst.Sidecar.Handler(), "sidecar", log) })
	if err := inst.Sidecar.Start(runCtx); err != nil {
		return inst, err
	}

	inst.Port = opts.Port
	if inst.Port == 0 {
		inst.Port = rt.Config.Gateway.Port
	}
	adminPort := opts.AdminPort
	if adminPort == 0 {
		if adminPort, err = freePort(); err != nil {
			return inst, err
		}
	}
	inst.AdminAddr = fmt.Sprintf("127.0.0.1:%d", adminPort)
	if inst.dir, err = os.MkdirTemp("", "mcpgw-"); err != nil {
		return inst, err
	}
	inst.AccessLogPath = opts.AccessLog
	if inst.AccessLogPath == "" {
		inst.AccessLogPath = filepath.Join(inst.dir, "access.log")
	}
	bootstrap, err := envoy.Render(envoy.Params{
		ListenPort:          inst.Port,
		AdminPort:           adminPort,
		ExtProcAddress:      extLis.Addr().String(),
		SidecarAddress:      sideLis.Addr().String(),
		Upstreams:           rt.Upstreams,
		MaxRequestBodyBytes: rt.Config.Gateway.MaxRequestBodyBytes,
		AccessLog:           inst.AccessLogPath,
	})
	if err != nil {
		return inst, err
	}
	bootstrapPath := filepath.Join(inst.dir, "envoy.yaml")
	if err := os.WriteFile(bootstrapPath, bootstrap, 0o600); err != nil {
		return inst, err
	}
	out := opts.EnvoyOutput
	if out == nil {
		out = io.Discard
	}
	level := opts.EnvoyLogLevel
	if level == "" {
		level = "warn"
	}
	if inst.envoy, err = StartEnvoy(opts.EnvoyBin, bootstrapPath, level, out); err != nil {
		return inst, err
	}
	readyCtx, readyCancel := context.WithTimeout(ctx, 30*time.Second)
	defer readyCancel()
	if err := inst.envoy.WaitReady(readyCtx, inst.AdminAddr); err != nil {
		return inst, err
	}
	inst.Endpoint = fmt.Sprintf("http://127.0.0.1:%d/mcp", inst.Port)
	return inst, nil
}

func (inst *Instance) serve(f func() error) {
	inst.wg.Go(func() {
		if err := f(); err != nil {
			inst.errc <- err
		}
	})
}

// Wait blocks until ctx ends, Envoy exits or a component fails.
func (inst *Instance) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-inst.envoy.Done():
		return fmt.Errorf("envoy exited: %v", err)
	case err := <-inst.errc:
		return err
	}
}

// Close stops Envoy first (no new requests), then the components.
func (inst *Instance) Close() error {
	inst.once.Do(func() {
		if inst.envoy != nil {
			inst.envoy.Stop()
		}
		// The sidecar first: it ends client GET streams, which would
		// otherwise hold its HTTP server's shutdown.
		if inst.Sidecar != nil {
			inst.Sidecar.Close()
		}
		inst.cancel()
		inst.wg.Wait()
		if inst.Sessions != nil {
			inst.Sessions.Close()
		}
		if inst.dir != "" {
			os.RemoveAll(inst.dir)
		}
	})
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
