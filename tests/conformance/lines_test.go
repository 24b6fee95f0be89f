package conformance

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// lineLog collects text lines (the runtime's NRI log, a plugin's stderr) and
// lets a test wait for a line that appears after a mark it took earlier, so
// a line logged before the step under test can never satisfy the wait.
type lineLog struct {
	mu      sync.Mutex
	lines   []string
	partial []byte
	grew    chan struct{} // closed and replaced whenever a line is added
}

func newLineLog() *lineLog {
	return &lineLog{grew: make(chan struct{})}
}

// Write makes a lineLog an io.Writer for a child process's stderr.
func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.addLocked(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

func (l *lineLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addLocked(line)
}

func (l *lineLog) addLocked(line string) {
	l.lines = append(l.lines, line)
	close(l.grew)
	l.grew = make(chan struct{})
}

// Mark returns a position; Since and WaitFor look only at later lines.
func (l *lineLog) Mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// Since returns the lines added after mark.
func (l *lineLog) Since(mark int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines[mark:]...)
}

// String returns everything, for failure messages.
func (l *lineLog) String() string {
	return strings.Join(l.Since(0), "\n")
}

// WaitFor waits until a line after mark contains substr and returns the mark
// just past that line, so that consecutive waits consume lines in order.
func (l *lineLog) WaitFor(mark int, substr string, timeout time.Duration) (int, error) {
	deadline := time.After(timeout)
	for {
		l.mu.Lock()
		for i := mark; i < len(l.lines); i++ {
			if strings.Contains(l.lines[i], substr) {
				l.mu.Unlock()
				return i + 1, nil
			}
		}
		grew := l.grew
		l.mu.Unlock()
		select {
		case <-grew:
		case <-deadline:
			return mark, fmt.Errorf("no line containing %q within %v", substr, timeout)
		}
	}
}

// nriLogger routes the NRI library's log (a process-wide setting) into the
// lineLog of the runtime fixture that is current.
type nriLogger struct {
	mu  sync.Mutex
	out *lineLog
}

var runtimeLogger = &nriLogger{}

func (n *nriLogger) route(l *lineLog) {
	n.mu.Lock()
	n.out = l
	n.mu.Unlock()
}

func (n *nriLogger) logf(level, format string, args ...interface{}) {
	n.mu.Lock()
	out := n.out
	n.mu.Unlock()
	if out != nil {
		out.add(level + " " + fmt.Sprintf(format, args...))
	}
}

func (n *nriLogger) Debugf(_ context.Context, f string, a ...interface{}) { n.logf("debug", f, a...) }
func (n *nriLogger) Infof(_ context.Context, f string, a ...interface{})  { n.logf("info", f, a...) }
func (n *nriLogger) Warnf(_ context.Context, f string, a ...interface{})  { n.logf("warn", f, a...) }
func (n *nriLogger) Errorf(_ context.Context, f string, a ...interface{}) { n.logf("error", f, a...) }
