/// <reference lib="dom" />
import { useState } from "preact/hooks";
import type { Enrolment } from "./api_types.ts";

/** Props of {@linkcode EnrolmentCode}. */
export interface EnrolmentCodeProps {
  vehicleName: string;
  enrolment: Enrolment;
  onDismiss(): void;
}

/** A vehicle's one-time enrolment code, shown once and prominently until dismissed. */
export function EnrolmentCode({ vehicleName, enrolment, onDismiss }: EnrolmentCodeProps) {
  const [copied, setCopied] = useState(false);
  const copy = () =>
    navigator.clipboard?.writeText(enrolment.code).then(() => setCopied(true), () => {});
  const expires = new Date(enrolment.credential.enrolmentExpiresAt).toLocaleString();
  return (
    <section class="enrolment" aria-live="polite">
      <h3>Enrolment code for {vehicleName}</h3>
      <p>
        Enter this code on the vehicle's device to enrol it. It is shown{" "}
        <strong>only this once</strong> and works until {expires}.
      </p>
      <code class="code" data-testid="enrolment-code">{enrolment.code}</code>
      <div class="row">
        <button type="button" onClick={copy}>{copied ? "Copied" : "Copy code"}</button>
        <button type="button" class="primary" onClick={onDismiss}>I have noted it</button>
      </div>
    </section>
  );
}
