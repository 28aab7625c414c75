//go:build tools

// Package tools keeps k8s.io/kubernetes/cmd/kubectl in this module's build list, so that go.sum pins every
// module it is compiled from.
package tools

import _ "k8s.io/kubernetes/cmd/kubectl"
