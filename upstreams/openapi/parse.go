package openapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"
)

// parseDoc decodes an OpenAPI 3.x or Swagger 2.0 document (JSON or YAML)
// into an OpenAPI 3 model with every $ref resolved; Swagger 2.0 is
// converted with kin-openapi's openapi2conv. location (may be nil) is
// where relative $refs are read from; external refs are followed only
// when allowExternal is set. A panic in the parser becomes an error.
//
// name is the document's format and version as written, e.g. "Swagger
// 2.0" or "OpenAPI 3.1.0".
func parseDoc(ctx context.Context, data []byte, location *url.URL, allowExternal bool) (doc *openapi3.T, name string, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("the OpenAPI parser failed on this document: %v", r)
		}
	}()
	version, err := peekVersion(data)
	if err != nil {
		return nil, "", err
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = allowExternal
	loader.Context = ctx
	switch {
	case version.Swagger == "2" || strings.HasPrefix(version.Swagger, "2."):
		var doc2 openapi2.T
		if err := openapi2.UnmarshalFromData(data, &doc2); err != nil {
			return nil, "", fmt.Errorf("decode Swagger %s document: %w", version.Swagger, err)
		}
		doc, err = openapi2conv.ToV3WithLoader(&doc2, loader, location)
		if err != nil {
			return nil, "", fmt.Errorf("convert Swagger %s to OpenAPI 3: %w", version.Swagger, err)
		}
		return doc, "Swagger " + version.Swagger, nil
	case version.OpenAPI == "3" || strings.HasPrefix(version.OpenAPI, "3."):
		if location != nil {
			doc, err = loader.LoadFromDataWithPath(data, location)
		} else {
			doc, err = loader.LoadFromData(data)
		}
		if err != nil {
			return nil, "", fmt.Errorf("load OpenAPI %s document: %w", version.OpenAPI, err)
		}
		return doc, "OpenAPI " + version.OpenAPI, nil
	case version.Swagger != "":
		return nil, "", fmt.Errorf("swagger version %q is not supported (want 2.0)", version.Swagger)
	case version.OpenAPI != "":
		return nil, "", fmt.Errorf("openapi version %q is not supported (want 3.0, 3.1 or 3.2)", version.OpenAPI)
	}
	return nil, "", errors.New(`not an OpenAPI document: no "openapi" or "swagger" version field`)
}

type versionPeek struct {
	Swagger string `yaml:"swagger"`
	OpenAPI string `yaml:"openapi"`
}

// peekVersion reads only the version fields. YAML is a superset of JSON,
// so one decoder serves both.
func peekVersion(data []byte) (versionPeek, error) {
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return versionPeek{}, fmt.Errorf("not JSON or YAML: %s", firstLine(err.Error()))
	}
	if raw == nil {
		return versionPeek{}, errors.New("empty document")
	}
	var v versionPeek
	if s, ok := raw["swagger"]; ok {
		v.Swagger = fmt.Sprint(s)
	}
	if s, ok := raw["openapi"]; ok {
		v.OpenAPI = fmt.Sprint(s)
	}
	return v, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
