package conformance

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	nrilog "github.com/containerd/nri/pkg/log"
)

// pluginBinary is the absolute path of the plugin under test.
var pluginBinary string

func TestMain(m *testing.M) {
	pluginBinary = os.Getenv("UID_MAPPER_BIN")
	if pluginBinary == "" || !filepath.IsAbs(pluginBinary) {
		fmt.Fprintln(os.Stderr, "conformance: set UID_MAPPER_BIN to the absolute path of the plugin binary (tests/conformance/run.sh does)")
		os.Exit(2)
	}
	if _, err := os.Stat(pluginBinary); err != nil {
		fmt.Fprintf(os.Stderr, "conformance: %v; build it first (make)\n", err)
		os.Exit(2)
	}
	nrilog.Set(runtimeLogger)
	os.Exit(m.Run())
}

// PluginProcess is a plugin process started by the test itself.
type PluginProcess struct {
	t      testing.TB
	cmd    *exec.Cmd
	Stderr *lineLog
	done   chan struct{}
	err    error // from cmd.Wait, valid once done is closed
}

// StartExternal starts `uid-mapper run --socket SOCKET --name uid-mapper
// --idx 10 --log-level info ARGS...`; later ARGS override earlier ones.
func StartExternal(t testing.TB, socket string, args ...string) *PluginProcess {
	t.Helper()
	argv := append([]string{"run", "--socket", socket, "--name", "uid-mapper",
		"--idx", "10", "--log-level", "info"}, args...)
	return startProcess(t, exec.Command(pluginBinary, argv...))
}

func startProcess(t testing.TB, cmd *exec.Cmd) *PluginProcess {
	t.Helper()
	p := &PluginProcess{t: t, cmd: cmd, Stderr: newLineLog(), done: make(chan struct{})}
	cmd.Stderr = p.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("plugin %d stderr:\n%s", cmd.Process.Pid, p.Stderr)
		}
	})
	return p
}

func (p *PluginProcess) Pid() int { return p.cmd.Process.Pid }

func (p *PluginProcess) Signal(sig syscall.Signal) {
	p.cmd.Process.Signal(sig)
}

// Kill is a crash: SIGKILL, and the process is reaped.
func (p *PluginProcess) Kill() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Kill()
		<-p.done
	}
}

// Running reports whether the process has not exited.
func (p *PluginProcess) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Wait waits for the process to exit and returns its exit code; a process
// killed by a signal is an error, and so is one still running at timeout.
func (p *PluginProcess) Wait(timeout time.Duration) (int, error) {
	select {
	case <-p.done:
	case <-time.After(timeout):
		return -1, fmt.Errorf("plugin %d still running after %v", p.Pid(), timeout)
	}
	var exit *exec.ExitError
	switch {
	case p.err == nil:
		return 0, nil
	case errors.As(p.err, &exit) && exit.Exited():
		return exit.ExitCode(), nil
	default:
		return -1, p.err
	}
}
