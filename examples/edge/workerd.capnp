# workerd configuration for examples/edge; serve.sh runs it as
#   workerd serve workerd.capnp --socket-addr http=$ADDR
# The embedded files sit next to this one: worker.mjs is committed,
# wasm_exec.js and edge.wasm are build artefacts (serve.sh makes them).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "edge", worker = .edge) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "edge") ],
);

const edge :Workerd.Worker = (
  compatibilityDate = "2025-09-01",
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "wasm_exec.js", esModule = embed "wasm_exec.js"),
    (name = "edge.wasm", wasm = embed "edge.wasm"),
  ],
  # Filled from the environment of the workerd process, read once per
  # isolate by the Go program. Unset variables are left undefined.
  # SESSION_KEYRING holds a keyring's JSON, not a path: a Worker has no
  # files.
  bindings = [
    (name = "SESSION_KEYS", fromEnvironment = "SESSION_KEYS"),
    (name = "SESSION_KEYRING", fromEnvironment = "SESSION_KEYRING"),
    (name = "INSECURE_COOKIES", fromEnvironment = "INSECURE_COOKIES"),
  ],
);
