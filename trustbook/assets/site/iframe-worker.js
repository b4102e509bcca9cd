// A stand-in for Web Workers on pages opened from disk (file://), where Chromium refuses `new Worker(url)`: the worker
// script runs in a hidden iframe of the same page and messages pass through that iframe's window. Only what the
// search of mkdocs-material uses is provided: postMessage both ways, message events, importScripts (as a promise).
(function () {
  if (location.protocol !== "file:") return;
  function load(doc, src) {
    return new Promise(function (resolve, reject) {
      var s = doc.createElement("script");
      s.src = src; s.onload = resolve; s.onerror = function () { reject(new Error("cannot load " + src)); };
      doc.head.appendChild(s);
    });
  }
  class IFrameWorker extends EventTarget {
    constructor(url) {
      super();
      var self = this, base = new URL(url, location.href).href;
      this.onmessage = null; this.onerror = null;
      this._queue = []; this._ready = false;
      this._frame = document.createElement("iframe");
      this._frame.style.display = "none";
      document.documentElement.appendChild(this._frame);
      var w = this._frame.contentWindow;
      w.postMessage = function (data) {
        setTimeout(function () {
          var ev = new MessageEvent("message", { data: data });
          if (typeof self.onmessage === "function") self.onmessage(ev);
          self.dispatchEvent(ev);
        }, 0);
      };
      w.importScripts = function () {
        return Promise.all([].slice.call(arguments).map(function (u) { return load(w.document, new URL(u, base).href); }));
      };
      load(w.document, base).then(function () {
        self._ready = true;
        self._queue.splice(0).forEach(function (d) { self._send(d); });
      }, function (err) {
        var ev = new ErrorEvent("error", { message: String(err) });
        if (typeof self.onerror === "function") self.onerror(ev);
        self.dispatchEvent(ev);
      });
    }
    _send(data) {
      var w = this._frame.contentWindow;
      setTimeout(function () { w.dispatchEvent(new w.MessageEvent("message", { data: data })); }, 0);
    }
    postMessage(data) { if (this._ready) this._send(data); else this._queue.push(data); }
    terminate() { this._frame.remove(); }
  }
  window.Worker = IFrameWorker;
})();
