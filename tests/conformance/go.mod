module uid-nri-plugin/tests/conformance

go 1.24.0

// The runtime side exactly as containerd v2.3.4 (and v2.3.7) builds it:
// NRI v0.12.0 with the ttrpc that containerd's own go.mod selects.
require (
	github.com/containerd/nri v0.12.0
	github.com/containerd/ttrpc v1.2.8
	github.com/opencontainers/runtime-spec v1.3.0
)

require (
	google.golang.org/grpc v1.69.2
	google.golang.org/protobuf v1.36.0
)

require (
	github.com/containerd/log v0.1.0 // indirect
	github.com/knqyf263/go-plugin v0.9.0 // indirect
	github.com/kr/text v0.2.0 // indirect
	github.com/sirupsen/logrus v1.9.3 // indirect
	github.com/tetratelabs/wazero v1.11.0 // indirect
	golang.org/x/mod v0.32.0 // indirect
	golang.org/x/sys v0.39.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20241021214115-324edc3d5d38 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
