// One EventSource for the whole console while someone is signed in; what it hears invalidates
// queries (invalidation.ts), and its state shows in the header.
import { useQueryClient } from "@tanstack/react-query";
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { keys } from "../api/queries";
import { EVENT_NAMES, Invalidator, parseEvent } from "./invalidation";

export type LiveState = "connecting" | "live" | "reconnecting";

const LiveContext = createContext<LiveState>("connecting");
const EVENTS_URL = "/api/v1/events";
const REOPEN_AFTER_MS = 5_000;

export function useLiveState(): LiveState {
  return useContext(LiveContext);
}

export function LiveEvents({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const [state, setState] = useState<LiveState>("connecting");

  useEffect(() => {
    const invalidator = new Invalidator(client);
    let source: EventSource | null = null;
    let reopen: ReturnType<typeof setTimeout> | null = null;
    let hadConnection = false;

    const open = () => {
      source = new EventSource(EVENTS_URL, { withCredentials: true });
      source.onopen = () => {
        if (hadConnection) {
          // Events sent while the connection was down are lost: read everything again.
          void client.invalidateQueries();
        }
        hadConnection = true;
        setState("live");
      };
      source.onerror = () => {
        setState("reconnecting");
        if (source?.readyState === EventSource.CLOSED) {
          // The browser gave up (a 401 after the session ended, or the server went away): maybe signed
          // out, so ask who we are, and open a new stream a little later.
          void client.invalidateQueries({ queryKey: keys.me });
          reopen = setTimeout(open, REOPEN_AFTER_MS);
        }
      };
      for (const name of EVENT_NAMES) {
        source.addEventListener(name, (message: MessageEvent<string>) => {
          const event = parseEvent(name, message.data);
          if (event !== null) invalidator.add(event);
        });
      }
    };
    open();
    return () => {
      if (reopen !== null) clearTimeout(reopen);
      source?.close();
      invalidator.dispose();
    };
  }, [client]);

  return <LiveContext.Provider value={state}>{children}</LiveContext.Provider>;
}
