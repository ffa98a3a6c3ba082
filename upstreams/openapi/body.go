package openapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

type bodyKind int

const (
	bodyJSON bodyKind = iota
	bodyForm
	bodyMultipart
	bodyText
	bodyBinary
)

// body is an operation's request body and how it is sent.
type body struct {
	arg         string
	mediaType   string // Content-Type sent
	kind        bodyKind
	required    bool
	description string
	schema      *openapi3.SchemaRef
}

// isJSON reports whether a media type carries JSON.
func isJSON(mt string) bool {
	mt = baseType(mt)
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json"
}

func baseType(mt string) string {
	if t, _, err := mime.ParseMediaType(mt); err == nil {
		return strings.ToLower(t)
	}
	mt, _, _ = strings.Cut(mt, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// bodyChoice picks the media type the gateway sends, most preferred first.
func bodyChoice(content openapi3.Content) (string, bodyKind, bool) {
	types := make([]string, 0, len(content))
	for mt := range content {
		types = append(types, mt)
	}
	slices.Sort(types)
	for _, pick := range []struct {
		match func(string) bool
		kind  bodyKind
	}{
		{func(t string) bool { return baseType(t) == "application/json" }, bodyJSON},
		{isJSON, bodyJSON},
		{func(t string) bool { return baseType(t) == "application/x-www-form-urlencoded" }, bodyForm},
		{func(t string) bool { return baseType(t) == "multipart/form-data" }, bodyMultipart},
		{func(t string) bool { return strings.HasPrefix(baseType(t), "text/") }, bodyText},
		{func(t string) bool {
			b := baseType(t)
			return b == "application/xml" || strings.HasSuffix(b, "+xml") || b == "application/yaml"
		}, bodyText},
		{func(t string) bool { return baseType(t) == "application/octet-stream" }, bodyBinary},
		{func(t string) bool { b := baseType(t); return b == "*/*" || b == "application/*" }, bodyJSON},
	} {
		for _, t := range types {
			if pick.match(t) {
				return t, pick.kind, true
			}
		}
	}
	return "", 0, false
}

// collectBody returns the operation's request body, nil when it has
// none, or an error when a required body has no media type we can send.
func collectBody(op *openapi3.Operation) (*body, []string, error) {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil, nil, nil
	}
	rb := op.RequestBody.Value
	b := &body{required: rb.Required, description: strings.TrimSpace(rb.Description)}
	if len(rb.Content) == 0 {
		b.mediaType, b.kind = "application/json", bodyJSON
		return b, nil, nil
	}
	mt, kind, ok := bodyChoice(rb.Content)
	if !ok {
		var types []string
		for t := range rb.Content {
			types = append(types, t)
		}
		slices.Sort(types)
		msg := fmt.Sprintf("request body media types %s are not supported (want JSON, form, multipart, text or octet-stream)", strings.Join(types, ", "))
		if rb.Required {
			return nil, nil, fmt.Errorf("%s", msg)
		}
		return nil, []string{"optional " + msg + "; body left out"}, nil
	}
	b.mediaType, b.kind = mt, kind
	if baseType(mt) == "*/*" || baseType(mt) == "application/*" {
		b.mediaType = "application/json"
	}
	if m := rb.Content[mt]; m != nil {
		b.schema = m.Schema
	}
	switch kind {
	case bodyText:
		b.schema = openapi3.NewStringSchema().NewRef()
	case bodyBinary:
		s := openapi3.NewStringSchema()
		s.ContentEncoding = "base64"
		s.Description = "the body's bytes, base64-encoded"
		b.schema = s.NewRef()
	}
	return b, nil, nil
}

// encode returns the request body for value.
func (b *body) encode(value any) (io.Reader, string, error) {
	switch b.kind {
	case bodyJSON:
		data, err := json.Marshal(value)
		if err != nil {
			return nil, "", err
		}
		return bytes.NewReader(data), b.mediaType, nil
	case bodyForm:
		obj, ok := value.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("must be an object (form fields)")
		}
		form := url.Values{}
		for _, k := range sortedKeys(obj) {
			for _, v := range formValues(obj[k]) {
				form.Add(k, v)
			}
		}
		return strings.NewReader(form.Encode()), "application/x-www-form-urlencoded", nil
	case bodyMultipart:
		obj, ok := value.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("must be an object (form fields)")
		}
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for _, k := range sortedKeys(obj) {
			for _, v := range formValues(obj[k]) {
				if err := w.WriteField(k, v); err != nil {
					return nil, "", err
				}
			}
		}
		if err := w.Close(); err != nil {
			return nil, "", err
		}
		return &buf, w.FormDataContentType(), nil
	case bodyText:
		s, err := scalarString(value)
		if err != nil {
			return nil, "", err
		}
		return strings.NewReader(s), b.mediaType, nil
	case bodyBinary:
		s, ok := value.(string)
		if !ok {
			return nil, "", fmt.Errorf("must be a base64 string")
		}
		data, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, "", fmt.Errorf("must be base64: %v", err)
		}
		return bytes.NewReader(data), b.mediaType, nil
	}
	return nil, "", fmt.Errorf("unknown body kind")
}

// formValues turns one form field into its values: arrays repeat the
// field, objects are sent as JSON text.
func formValues(v any) []string {
	if arr, ok := v.([]any); ok {
		out := make([]string, 0, len(arr))
		for _, x := range arr {
			s, _ := scalarString(x)
			out = append(out, s)
		}
		return out
	}
	s, _ := scalarString(v)
	return []string{s}
}
