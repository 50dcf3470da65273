/**
 * `load`, run once: every caller shares its promise while it is pending or has settled with a
 * value. A load that failed is run again by the next caller, not remembered until a restart.
 */
export function onceUnlessFailed<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    if (!loading) {
      loading = load();
      loading.catch(() => (loading = undefined));
    }
    return loading;
  };
}
