// The test kit's own small programs, built static (CGO off) by tests/cluster/nodes/real/build.sh:
//   pause     the pod sandbox's PID 1 (sleeps, reaps children, exits on SIGTERM)
//   testapp   one binary with the failure modes the real-node tests need
//   htpasswd  a bcrypt htpasswd line for the authenticated registry
module crashwatch.dev/testapps

go 1.26.0

require golang.org/x/crypto v0.47.0
