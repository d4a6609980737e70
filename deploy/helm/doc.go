// Package helm holds the tests of the Helm chart in ./warroom. It is a
// module of its own so that the Kubernetes API types the tests decode the
// rendered objects into stay out of warroom's dependencies.
package helm
