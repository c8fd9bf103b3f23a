/// <reference lib="dom" />
/**
 * An enrolment code's agent command with a copy button, and the vehicle's enrolment state, which
 * turns from pending to enrolled by itself (the vehicle GET, read every 2 s while pending).
 */
import { useEffect, useState } from "preact/hooks";
import { PageSession } from "../lib/ui/browser.ts";

/** Props of {@linkcode EnrolmentCommand}. */
export interface EnrolmentCommandProps {
  fleetId: string;
  vehicleId: string;
  command: string;
  state: "enrolled" | "pending" | "none";
}

const POLL_MS = 2_000;
/** A page left open stops asking after this long (the code's lifetime is shorter). */
const POLL_FOR_MS = 30 * 60_000;

const STATE_TEXT = {
  pending: "Pending: waiting for the vehicle to enrol with this code",
  enrolled: "Enrolled: the vehicle redeemed its code",
  none: "No valid code: issue a new one",
} as const;

/** The command to run on the vehicle, a copy button, and the live enrolment state. */
export default function EnrolmentCommand(props: EnrolmentCommandProps) {
  const { fleetId, vehicleId, command } = props;
  const [state, setState] = useState(props.state);
  const [copied, setCopied] = useState<string | null>(null);

  useEffect(() => {
    if (state !== "pending") return;
    const until = Date.now() + POLL_FOR_MS;
    let stopped = false;
    const timer = setInterval(async () => {
      if (stopped) return;
      if (Date.now() > until) return clearInterval(timer);
      try {
        const vehicle = await PageSession.current().request<{ enrolment: { state: typeof state } }>(
          "GET",
          `/api/v1/fleets/${encodeURIComponent(fleetId)}/vehicles/${encodeURIComponent(vehicleId)}`,
        );
        if (!stopped) setState(vehicle.enrolment.state);
      } catch {
        // the next tick tries again
      }
    }, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [state, fleetId, vehicleId]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(command);
      setCopied("Copied");
    } catch {
      setCopied("Cannot copy here: select the command and copy it");
    }
  };

  return (
    <div class="enrolment-command">
      <pre><code data-testid="enrol-command">{command}</code></pre>
      <p class="enrolment-tools">
        <button type="button" onClick={copy}>Copy command</button>
        <span class="muted" role="status">{copied ?? ""}</span>
      </p>
      <p class={`enrolment-state ${state}`} role="status" data-testid="enrolment-state">
        {STATE_TEXT[state]}
      </p>
    </div>
  );
}
