import { useSyncExternalStore } from "react";
import { getSession, subscribe, type Session } from "./session";

export function useSession(): Session | null {
  return useSyncExternalStore(subscribe, getSession, getSession);
}

/** The viewer's locale for numbers and dates (the browser's language). */
export function useLocale(): string {
  return globalThis.navigator?.language || "en-US";
}
