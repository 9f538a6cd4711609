// What the hub's host routes (enrolment, push, policy fetch) answer: a status and a JSON body;
// an error is always `{status: "error", message}`, the message safe to show (it names no secret).

export type Reply<T> = { status: number; body: T };
export type ErrorBody = { status: "error"; message: string };

export function error(status: number, message: string): Reply<ErrorBody> {
  return { status, body: { status: "error", message } };
}

