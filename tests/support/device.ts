/** Enrols a fixture's vehicle through the API and returns a device token for it. */
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import type { TestPlatform } from "./platform.ts";

/** A vehicle enrolled through the real endpoints, with a device token. */
export interface EnrolledDevice {
  credentialId: string;
  vehicleId: string;
  token: string;
}

/** Redeems `code` with a fresh key pair and exchanges an assertion for a device token. */
export async function enrolDevice(platform: TestPlatform, code: string): Promise<EnrolledDevice> {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const enrolled = await platform.call("POST", "/api/v1/device/enrol", {
    json: { code, publicKey: await exportJWK(publicKey) },
  });
  if (enrolled.status !== 201) throw new Error(`Enrolment failed: ${await enrolled.text()}`);
  const { credentialId, vehicleId, assertionAudience } = await enrolled.json();
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: "ES256" })
    .setIssuer(credentialId)
    .setSubject(credentialId)
    .setAudience(assertionAudience)
    .setIssuedAt()
    .setExpirationTime("2m")
    .setJti(crypto.randomUUID())
    .sign(privateKey);
  const issued = await platform.call("POST", "/api/v1/device/token", { json: { assertion } });
  if (issued.status !== 200) throw new Error(`Token exchange failed: ${await issued.text()}`);
  return { credentialId, vehicleId, token: (await issued.json()).accessToken };
}
