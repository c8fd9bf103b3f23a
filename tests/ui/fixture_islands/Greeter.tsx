import { useState } from "preact/hooks";

/** A fixture island: a greeting that changes when clicked. */
export default function Greeter({ name }: { name: string }) {
  const [greeting, setGreeting] = useState("Hello");
  return <p onClick={() => setGreeting("Goodbye")}>{greeting} {name}</p>;
}
