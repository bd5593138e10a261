package tokensession

// SetWatcherHook makes w call f after handling each trigger, so that tests
// can step the watcher without sleeping.
func SetWatcherHook(w *KeyringWatcher, f func()) { w.afterEvent = f }
