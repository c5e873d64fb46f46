'use strict';
// Preloaded into NNI's manager by autopeft (NODE_OPTIONS="--require <this file>"). NNI 3.0's servers call
// listen(port) with no host, which listens on every interface; this makes them listen on
// AUTOPEFT_NNI_HOST instead (127.0.0.1 unless the user passes --nni-host). Servers that name a host or a
// socket path are left alone.
const net = require('net');
const host = process.env.AUTOPEFT_NNI_HOST;
if (host) {
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function (...args) {
    const first = args[0];
    if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      if (typeof args[1] !== 'string') args.splice(1, 0, host);
    } else if (first && typeof first === 'object' && first.port !== undefined && !first.host && !first.path) {
      args[0] = Object.assign({}, first, { host });
    }
    return listen.apply(this, args);
  };
}
