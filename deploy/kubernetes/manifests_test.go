package kubernetes

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/mcpgw/mcpgw/internal/config/configfile"
)

// kustomization is the part of kustomize's Kustomization these manifests
// use (kustomize's own types are not a dependency worth having); decoded
// strictly, so a field outside it fails the test rather than being
// ignored.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Resources  []string
	Labels     []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels"`
	Patches []struct {
		Path   string `json:"path"`
		Target struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"target"`
	} `json:"patches"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

// object is one decoded manifest.
type object struct {
	file string
	kind string
	name string
	obj  any
}

// newObject is the API type of apiVersion/kind.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + "/" + kind {
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	}
	return nil, fmt.Errorf("apiVersion %q kind %q: not a type this test knows", apiVersion, kind)
}

// decodeFile decodes every document of a manifest file strictly (unknown
// or misspelt fields are errors) into its API type.
func decodeFile(t *testing.T, path string) []object {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []object
	for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("%s document %d: %v", path, i, err)
		}
		obj, err := newObject(meta.APIVersion, meta.Kind)
		if err != nil {
			t.Fatalf("%s document %d: %v", path, i, err)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s document %d (%s %s): %v", path, i, meta.Kind, meta.Metadata.Name, err)
		}
		if meta.Metadata.Name == "" {
			t.Errorf("%s document %d: no metadata.name", path, i)
		}
		out = append(out, object{file: path, kind: meta.Kind, name: meta.Metadata.Name, obj: obj})
	}
	return out
}

// loadKustomization reads dir/kustomization.yaml strictly and decodes
// its resources (directories recursively) and patches.
func loadKustomization(t *testing.T, dir string) (resources, patches []object) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("%s/kustomization.yaml: apiVersion %q kind %q", dir, k.APIVersion, k.Kind)
	}
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s/kustomization.yaml: resource %s: %v", dir, r, err)
		}
		if st.IsDir() {
			base, _ := loadKustomization(t, p)
			resources = append(resources, base...)
			continue
		}
		resources = append(resources, decodeFile(t, p)...)
	}
	for _, p := range k.Patches {
		objs := decodeFile(t, filepath.Join(dir, p.Path))
		for _, o := range objs {
			if o.kind != p.Target.Kind || o.name != p.Target.Name {
				t.Errorf("%s: patch of %s %s targets %s %s", p.Path, o.kind, o.name, p.Target.Kind, p.Target.Name)
			}
			if find(resources, o.kind, o.name) == nil {
				t.Errorf("%s: patches %s %s, which no resource is", p.Path, o.kind, o.name)
			}
		}
		patches = append(patches, objs...)
	}
	return resources, patches
}

func find(objs []object, kind, name string) any {
	for _, o := range objs {
		if o.kind == kind && o.name == name {
			return o.obj
		}
	}
	return nil
}

func TestManifests(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"base", "overlays/postgres"} {
		t.Run(dir, func(t *testing.T) {
			resources, patches := loadKustomization(t, dir)
			checkWiring(t, resources, patches, string(readme))
		})
	}
}

// checkWiring checks what the objects refer to: selectors, ports, probes,
// volumes, Secrets, the ConfigMap's config.
func checkWiring(t *testing.T, resources, patches []object, readme string) {
	dep, _ := find(resources, "Deployment", "mcpgw").(*appsv1.Deployment)
	if dep == nil {
		t.Fatal("no Deployment mcpgw")
	}
	pod := dep.Spec.Template
	podLabels := labels.Set(pod.Labels)
	if sel := labels.SelectorFromSet(dep.Spec.Selector.MatchLabels); !sel.Matches(podLabels) {
		t.Errorf("Deployment selector %v does not match its pod labels %v", sel, podLabels)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1 (mcpgw run with Envoy)", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if patch, _ := findPatch(patches, "Deployment", "mcpgw").(*appsv1.Deployment); patch != nil {
		for _, pc := range patch.Spec.Template.Spec.Containers {
			if pc.Name != c.Name {
				t.Errorf("the patch's container %q is not the base's %q", pc.Name, c.Name)
			}
			c.Env = append(c.Env, pc.Env...)
		}
		if patch.Spec.Replicas != nil && *patch.Spec.Replicas < 2 {
			t.Errorf("overlay replicas %d, want 2 or more", *patch.Spec.Replicas)
		}
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	probePort := func(what string, p *corev1.Probe) int32 {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: no HTTP probe", what)
			return 0
		}
		n, ok := ports[p.HTTPGet.Port.String()]
		if !ok {
			t.Errorf("%s: port %s is not a container port", what, p.HTTPGet.Port.String())
		}
		return n
	}
	for _, p := range []struct {
		what, path string
		probe      *corev1.Probe
	}{{"readiness", "/readyz", c.ReadinessProbe}, {"liveness", "/healthz", c.LivenessProbe}, {"startup", "/readyz", c.StartupProbe}} {
		if n := probePort(p.what, p.probe); n != 9090 {
			t.Errorf("%s probe on port %d, want the ops listener 9090", p.what, n)
		}
		if p.probe != nil && p.probe.HTTPGet != nil && p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s probe path %s, want %s", p.what, p.probe.HTTPGet.Path, p.path)
		}
	}

	// Non-root, read-only, and a writable /tmp and data dir.
	psc, sc := pod.Spec.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("container securityContext: want readOnlyRootFilesystem true, allowPrivilegeEscalation false")
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		if _, ok := volumes[m.Name]; !ok {
			t.Errorf("volumeMount %s: no such volume", m.Name)
		}
		mounts[m.MountPath] = m.Name
	}
	for _, path := range []string{"/tmp", "/var/lib/mcpgw"} {
		if v, ok := volumes[mounts[path]]; !ok || v.EmptyDir == nil {
			t.Errorf("%s is not an emptyDir mount", path)
		}
	}
	if pod.Spec.TerminationGracePeriodSeconds == nil {
		t.Error("no terminationGracePeriodSeconds")
	}

	// The config: its ConfigMap exists, it parses with the environment
	// the pod has, and its ops listener and port are the probes'.
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			// The Secrets are the operator's: their names and keys must
			// be in the README, which says how to create them.
			if !documented(readme, ref.Name, ref.Key) {
				t.Errorf("env %s: Secret %s key %s is not documented in README.md", e.Name, ref.Name, ref.Key)
			}
			env[e.Name] = strings.Repeat("s", 48)
		case e.ValueFrom != nil:
			t.Errorf("env %s: only Secret references are expected", e.Name)
		default:
			env[e.Name] = e.Value
		}
	}
	if env["DATABASE_URL"] != "" {
		env["DATABASE_URL"] = "postgres://mcpgw:pw@db:5432/mcpgw"
	}
	var cmName string
	for _, m := range c.VolumeMounts {
		if m.MountPath == "/etc/mcpgw" {
			cmName = volumes[m.Name].ConfigMap.Name
		}
	}
	if !slices.Contains(c.Args, "/etc/mcpgw/config.yaml") {
		t.Errorf("args %v do not name /etc/mcpgw/config.yaml", c.Args)
	}
	cm, _ := find(resources, "ConfigMap", cmName).(*corev1.ConfigMap)
	if cm == nil {
		t.Fatalf("ConfigMap %q mounted at /etc/mcpgw does not exist", cmName)
	}
	cfg, err := configfile.Parse([]byte(cm.Data["config.yaml"]), "/etc/mcpgw/config.yaml", func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	if err != nil {
		t.Fatalf("ConfigMap %s config.yaml: %v", cmName, err)
	}
	if got := cfg.Gateway.OpsAddress.String(); got != "0.0.0.0:9090" {
		t.Errorf("gateway.ops_address %s, want 0.0.0.0:9090 (the probes')", got)
	}
	if int32(cfg.Gateway.Port) != ports["http"] {
		t.Errorf("gateway.port %d, container port http %d", cfg.Gateway.Port, ports["http"])
	}
	if cfg.Store.DataDir != "/var/lib/mcpgw" {
		t.Errorf("gateway.data_dir %q, want the emptyDir /var/lib/mcpgw", cfg.Store.DataDir)
	}
	if grace := *pod.Spec.TerminationGracePeriodSeconds; float64(grace) <= cfg.Gateway.DrainTimeout.Seconds() {
		t.Errorf("terminationGracePeriodSeconds %d is not above gateway.drain_timeout %v", grace, cfg.Gateway.DrainTimeout)
	}
	if _, ok := env["DATABASE_URL"]; ok && !cfg.Store.Enabled {
		t.Error("DATABASE_URL is set but the store is off (STORE_MODEL_IN_DB)")
	}

	svc, _ := find(resources, "Service", "mcpgw").(*corev1.Service)
	if svc == nil {
		t.Fatal("no Service mcpgw")
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		t.Errorf("Service selector %v does not match the pod labels %v", svc.Spec.Selector, podLabels)
	}
	for _, p := range svc.Spec.Ports {
		if _, ok := ports[p.TargetPort.String()]; !ok {
			t.Errorf("Service port %s: targetPort %s is not a container port", p.Name, p.TargetPort.String())
		}
	}

	pdb, _ := find(resources, "PodDisruptionBudget", "mcpgw").(*policyv1.PodDisruptionBudget)
	if pdb == nil {
		t.Fatal("no PodDisruptionBudget mcpgw")
	}
	if sel := labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels); !sel.Matches(podLabels) {
		t.Errorf("PodDisruptionBudget selector %v does not match the pod labels", sel)
	}
	hpa, _ := find(resources, "HorizontalPodAutoscaler", "mcpgw").(*autoscalingv2.HorizontalPodAutoscaler)
	if hpa == nil {
		t.Fatal("no HorizontalPodAutoscaler mcpgw")
	}
	if ref := hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != dep.Name || ref.APIVersion != "apps/v1" {
		t.Errorf("HorizontalPodAutoscaler scales %+v, not the Deployment", ref)
	}
	// A CPU utilization target needs a CPU request.
	if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
		t.Error("no CPU request: the autoscaler's utilization has nothing to divide by")
	}
	if patch, _ := findPatch(patches, "HorizontalPodAutoscaler", "mcpgw").(*autoscalingv2.HorizontalPodAutoscaler); patch != nil {
		if patch.Spec.MinReplicas == nil || *patch.Spec.MinReplicas < 2 {
			t.Error("overlay HorizontalPodAutoscaler minReplicas below 2")
		}
	}
}

// documented says whether a line of the README's Secrets table names
// the Secret and the key.
func documented(readme, secret, key string) bool {
	for line := range strings.Lines(readme) {
		if strings.HasPrefix(line, "| `"+secret+"` | `"+key+"` |") {
			return true
		}
	}
	return false
}

func findPatch(patches []object, kind, name string) any { return find(patches, kind, name) }

// TestGatewayImage: the image the Deployment runs is the Dockerfile's
// target with Envoy in it, and the fast path's dynamic module beside
// mcpgw (where mcpgw run finds it; without it Envoy's Lua filter decides,
// at several times the cost).
func TestGatewayImage(t *testing.T) {
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	_, gateway, ok := bytes.Cut(data, []byte("FROM envoyproxy/envoy:v1.40.0 AS gateway"))
	if !ok {
		t.Fatal("Dockerfile has no `gateway` target on the Envoy 1.40.0 image")
	}
	if !bytes.Contains(data, []byte("CGO_ENABLED=1 go build -trimpath -ldflags=\"-s -w\" -buildmode=c-shared -o /out/libmcpgw_fast_path.so ./envoy/module")) {
		t.Error("Dockerfile does not build the fast path's module (envoy/module, -buildmode=c-shared)")
	}
	gateway, _, _ = bytes.Cut(gateway, []byte("\nFROM "))
	if !bytes.Contains(gateway, []byte("COPY --from=build /out/mcpgw /out/libmcpgw_fast_path.so /usr/local/bin/")) {
		t.Error("the gateway target does not put the module beside mcpgw")
	}
}
