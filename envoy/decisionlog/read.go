package decisionlog

import (
	"errors"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// Message is what the gateway reads of one StreamAccessLogsMessage (Envoy's
// access log service), from Envoy's access logger or from Sender.
type Message struct {
	// LogName is the identifier's log name; "" when the message has no
	// identifier (only a stream's first has one).
	LogName string
	// Entries are the message's HTTP entries, in order.
	Entries []LoggedEntry
}

// LoggedEntry is what the gateway reads of an HTTP access log entry.
type LoggedEntry struct {
	RequestID string
	// Metadata are the string values in the entry's filter metadata of
	// the gateway's namespace (wellknown.MetadataNamespace); values of
	// other kinds are left out.
	Metadata map[string]string
}

// errMalformed is a message that is not protobuf.
var errMalformed = errors.New("decisionlog: malformed access log message")

// Read reads m from the wire form of a StreamAccessLogsMessage, skipping
// every field the gateway does not use. It reads strings as bytes, with
// what is not UTF-8 replaced by U+FFFD: protobuf's own decoding refuses
// a whole message (a batch of Envoy's, up to a second of calls) for one
// string that is not UTF-8, and Envoy copies some of an entry's strings
// from the client's request as they came (x-request-id, user-agent,
// referer), so one client could keep every call in a batch out of the
// decision log.
func Read(b []byte) (Message, error) {
	var m Message
	err := eachField(b, func(num protowire.Number, v []byte) error {
		switch num {
		case fieldMessageIdentifier:
			return eachField(v, func(num protowire.Number, v []byte) error {
				if num == fieldIdentifierLogName {
					m.LogName = text(v)
				}
				return nil
			})
		case fieldMessageTCPLogs:
			// The other member of the log_entries oneof: the one set
			// last stands.
			m.Entries = nil
		case fieldMessageHTTPLogs:
			return eachField(v, func(num protowire.Number, v []byte) error {
				if num != fieldHTTPLogsEntry {
					return nil
				}
				e, err := readEntry(v)
				m.Entries = append(m.Entries, e)
				return err
			})
		}
		return nil
	})
	return m, err
}

func readEntry(b []byte) (LoggedEntry, error) {
	var e LoggedEntry
	err := eachField(b, func(num protowire.Number, v []byte) error {
		switch num {
		case fieldEntryRequest:
			return eachField(v, func(num protowire.Number, v []byte) error {
				if num == fieldRequestID {
					e.RequestID = text(v)
				}
				return nil
			})
		case fieldEntryCommon:
			return eachField(v, func(num protowire.Number, v []byte) error {
				if num != fieldCommonMetadata {
					return nil
				}
				return eachField(v, func(num protowire.Number, v []byte) error {
					if num != fieldMetadataFilter {
						return nil
					}
					ns, st, err := mapEntry(v)
					if err != nil || ns != wellknown.MetadataNamespace {
						return err
					}
					// A map's key repeated: the last entry stands, as in
					// protobuf.
					e.Metadata = map[string]string{}
					return eachField(st, func(num protowire.Number, v []byte) error {
						if num != fieldStructFields {
							return nil
						}
						name, value, err := mapEntry(v)
						if err != nil {
							return err
						}
						s, ok, err := stringValue(value)
						if err != nil {
							return err
						}
						if ok {
							e.Metadata[name] = s
						} else {
							delete(e.Metadata, name)
						}
						return nil
					})
				})
			})
		}
		return nil
	})
	return e, err
}

// mapEntry reads a map entry of a string key and a message value. A
// value given more than once is merged, as protobuf merges a message
// field: its encodings one after the other.
func mapEntry(b []byte) (key string, value []byte, err error) {
	err = eachField(b, func(num protowire.Number, v []byte) error {
		switch num {
		case fieldMapKey:
			key = text(v)
		case fieldMapVal:
			value = append(value[:len(value):len(value)], v...)
		}
		return nil
	})
	return key, value, err
}

// stringValue reads a google.protobuf.Value: its string, if the kind set
// last is a string.
func stringValue(b []byte) (s string, ok bool, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", false, errMalformed
		}
		b = b[n:]
		if num == fieldValueString && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return "", false, errMalformed
			}
			s, ok = text(v), true
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return "", false, errMalformed
		}
		b = b[n:]
		if kind, member := valueKinds[num]; member && kind == typ {
			// Another member of the kind oneof.
			s, ok = "", false
		}
	}
	return s, ok, nil
}

// valueKinds are the members of google.protobuf.Value's kind oneof but
// string_value, with their wire types (a field of another wire type is
// an unknown field to protobuf, not a member).
var valueKinds = map[protowire.Number]protowire.Type{
	1: protowire.VarintType,  // null_value
	2: protowire.Fixed64Type, // number_value
	4: protowire.VarintType,  // bool_value
	5: protowire.BytesType,   // struct_value
	6: protowire.BytesType,   // list_value
}

// eachField calls f with the number and contents of each length-delimited
// field of the message b, in order, and skips fields of other wire types.
func eachField(b []byte, f func(protowire.Number, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return errMalformed
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		if err := f(num, v); err != nil {
			return err
		}
	}
	return nil
}

// text is b as a string, what is not UTF-8 replaced by U+FFFD.
func text(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
