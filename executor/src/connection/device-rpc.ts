// The executor's side of the generic device RPC (`device:request` → `device:response`): looks
// the method up, checks its params and its result against protocol's method table, and always
// answers exactly once. A handler returns null for "not found".
import {
  DEVICE_METHODS,
  type DeviceMethod,
  type DeviceParams,
  type DeviceRequest,
  type DeviceResponse,
  type DeviceResult,
} from "@wegent/protocol";

export type DeviceHandlers = {
  [M in DeviceMethod]?: (
    params: DeviceParams<M>,
    /** The hub's span for this request, when it sent one (tracing on). */
    traceparent?: string,
  ) => Promise<DeviceResult<M> | null>;
};

function isMethod(name: string): name is DeviceMethod {
  return Object.hasOwn(DEVICE_METHODS, name);
}

export async function answerDeviceRequest(
  frame: DeviceRequest,
  handlers: DeviceHandlers,
): Promise<DeviceResponse> {
  const { requestId } = frame;
  const fail = (code: NonNullable<DeviceResponse["error"]>["code"], message: string) =>
    ({ type: "device:response", requestId, ok: false, error: { code, message } }) as const;
  const name = frame.method;
  const handler = isMethod(name) ? handlers[name] : undefined;
  if (!isMethod(name) || !handler)
    return fail("unknown_method", `This device does not answer ${name}.`);
  const spec = DEVICE_METHODS[name];
  const params = spec.params.safeParse(frame.params);
  if (!params.success) {
    return fail("invalid_params", params.error.issues[0]?.message ?? "invalid params");
  }
  try {
    const result = await (handler as (p: unknown, t?: string) => Promise<unknown>)(
      params.data,
      frame.traceparent,
    );
    if (result === null) return fail("not_found", "Not found on this device.");
    const checked = spec.result.safeParse(result);
    if (!checked.success) return fail("internal_error", "The device built an invalid answer.");
    return { type: "device:response", requestId, ok: true, result: checked.data };
  } catch (error) {
    return fail("internal_error", error instanceof Error ? error.message : String(error));
  }
}
