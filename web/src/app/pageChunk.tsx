// A page in a chunk of its own (the first load carries only the shell and the sign-in),
// shown without React's Suspense: React holds a suspended boundary's content back until
// 300 ms after its fallback appeared (its throttle of reveals), and a page's queries start
// only once it renders, so every page load waited ~300 ms on an idle machine for nothing.
// The chunk of the page asked for is fetched as the app starts (`load`), beside the shell's
// own requests, and so are the page's queries where it names them (`prefetch`: they then
// need not wait for the page's code to arrive and run); any other is fetched on the first
// visit, then kept.
import type { QueryClient } from "@tanstack/react-query";
import { createElement, useEffect, useState, type ComponentType } from "react";
import { ErrorState, Loading } from "../components/States";

type PageModule = { default: ComponentType };

export interface PageChunk {
  load: () => Promise<PageModule>;
  Page: ComponentType;
  prefetch?: (client: QueryClient) => void;
}

export function pageChunk(importer: () => Promise<PageModule>, prefetch?: (client: QueryClient) => void): PageChunk {
  let loaded: PageModule | undefined;
  let loading: Promise<PageModule> | undefined;
  const load = () => (loading ??= importer().then(
    (module) => (loaded = module),
    (error) => { loading = undefined; throw error; },  // a later visit tries again
  ));

  function Page() {
    const [module, setModule] = useState(loaded);
    const [failure, setFailure] = useState<unknown>(null);
    useEffect(() => {
      if (module) return;
      let mounted = true;
      load().then((m) => mounted && setModule(m), (error) => mounted && setFailure(error));
      return () => { mounted = false; };
    }, [module]);
    if (module) return createElement(module.default);
    return failure ? <ErrorState error={failure} /> : <Loading what="the page" />;
  }
  return { load, Page, prefetch };
}
