// Package kubernetes holds no code: its test checks the manifests in this
// directory (base/ and overlays/) without a cluster, by decoding each one
// strictly into the Kubernetes API types and checking what refers to what.
package kubernetes
