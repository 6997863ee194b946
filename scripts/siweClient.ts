import type { LocalAccount } from "viem";

/** Signs in to a Sen gateway with Sign-In with Ethereum; returns the session token. */
export async function loginWithSiwe(url: string, account: LocalAccount): Promise<string> {
  const challenge = (await (await fetch(`${url}/api/v1/sen/auth/challenge?address=${account.address}`)).json()) as { code: string; data: { message: string } };
  if (challenge.code !== "200000") throw new Error(`challenge: ${JSON.stringify(challenge)}`);
  const signature = await account.signMessage({ message: challenge.data.message });
  const login = (await (
    await fetch(`${url}/api/v1/sen/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ message: challenge.data.message, signature }) })
  ).json()) as { code: string; data: { token: string } };
  if (login.code !== "200000") throw new Error(`login: ${JSON.stringify(login)}`);
  return login.data.token;
}
