package conformance

import (
	"io"
	"net"
	"os"
	"sync"
)

// relay stands between external plugins and an in-process adaptation.
//
// A containerd that exits or crashes closes every plugin connection; an
// adaptation's Stop() does not (it only closes its listener and kills the
// plugins it launched), and the adaptation offers no way to close the
// connections of external plugins. So external plugins connect to the
// relay's socket, every connection is piped byte for byte to the
// adaptation's own socket, and cut() closes the listener and all
// connections at once: to the plugin that is exactly a runtime going away.
type relay struct {
	listener *net.UnixListener
	path     string
	target   string

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startRelay(path, target string) (*relay, error) {
	os.Remove(path)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	r := &relay{listener: l, path: path, target: target, conns: map[net.Conn]struct{}{}}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

func (r *relay) accept() {
	defer r.wg.Done()
	for {
		plugin, err := r.listener.Accept()
		if err != nil {
			return
		}
		runtime, err := net.Dial("unix", r.target)
		if err != nil {
			plugin.Close()
			continue
		}
		if !r.track(plugin, runtime) {
			return
		}
		r.wg.Add(2)
		go r.pipe(plugin, runtime)
		go r.pipe(runtime, plugin)
	}
}

// track registers a connection pair unless the relay is already cut.
func (r *relay) track(conns ...net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns == nil {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		r.conns[c] = struct{}{}
	}
	return true
}

// pipe copies one direction; when either side ends, both are closed, as the
// kernel does for a process that dies.
func (r *relay) pipe(dst, src net.Conn) {
	defer r.wg.Done()
	io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// cut closes the socket and every connection, then waits for the copies.
func (r *relay) cut() {
	r.listener.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.conns = nil
	r.mu.Unlock()
	r.wg.Wait()
	os.Remove(r.path)
}
