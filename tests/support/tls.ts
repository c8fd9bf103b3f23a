/** A throwaway certificate authority and a server certificate for 127.0.0.1, made with openssl. */

/** Files of a test certificate; `caPem` is what a client trusts. */
export interface TestCertificate {
  certFile: string;
  keyFile: string;
  caPem: string;
}

async function openssl(args: string[]): Promise<void> {
  const output = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/** Creates a CA and a P-256 server certificate for 127.0.0.1 and localhost in `dir`. */
export async function makeTestCertificate(dir: string): Promise<TestCertificate> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    `${dir}/ca.key`,
    "-out",
    `${dir}/ca.pem`,
    "-days",
    "1",
    "-subj",
    "/CN=Motorcade test CA",
  ]); // deno-fmt-ignore
  await openssl([
    "req", ...ec, "-keyout", `${dir}/key.pem`, "-out", `${dir}/server.csr`,
    "-subj", "/CN=127.0.0.1",
  ]); // deno-fmt-ignore
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    `${dir}/server.csr`,
    "-CA",
    `${dir}/ca.pem`,
    "-CAkey",
    `${dir}/ca.key`,
    "-CAcreateserial",
    "-out",
    `${dir}/cert.pem`,
    "-days",
    "1",
    "-extfile",
    `${dir}/ext.cnf`,
  ]); // deno-fmt-ignore
  return {
    certFile: `${dir}/cert.pem`,
    keyFile: `${dir}/key.pem`,
    caPem: await Deno.readTextFile(`${dir}/ca.pem`),
  };
}
