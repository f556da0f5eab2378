import {
  DEVICE_METHODS,
  type DeviceMethod,
  type DeviceParams,
  type DeviceResult,
} from "@wegent/protocol";
import { ApiError } from "../lib/errors";
import { seconds } from "../../edge/time";
import { type DeviceAnswer, deviceHub } from "../../durable-objects/contract";

/**
 * Asks a device something through its hub (the generic device RPC: `device:request` →
 * `device:response`, see docs/protocol.md) and checks the answer against the method's schema.
 * Offline → 409 `device_offline`, no answer in time → 504 `device_timeout`, the device says
 * not found → 404 `<what>_not_found`.
 */
export async function callDevice<M extends DeviceMethod>(
  env: Env,
  ownerId: string,
  deviceId: string,
  method: M,
  params: DeviceParams<M>,
  what = "item",
): Promise<DeviceResult<M>> {
  // RPC typing drops `unknown` members; the answer is structured-cloned as it is.
  const answer = (await deviceHub(env, ownerId, deviceId).request(
    method,
    params,
    seconds(env.DEVICE_REQUEST_TIMEOUT_SECONDS, 10) * 1000,
  )) as DeviceAnswer;
  if (answer.ok) {
    const checked = DEVICE_METHODS[method].result.safeParse(answer.result);
    if (checked.success) return checked.data as DeviceResult<M>;
    throw new ApiError(502, "bad_device_answer", "The device sent an answer we cannot read.");
  }
  switch (answer.code) {
    case "device_offline":
      throw new ApiError(409, "device_offline", answer.message);
    case "timeout":
      throw new ApiError(504, "device_timeout", answer.message);
    case "not_found":
      throw new ApiError(404, `${what}_not_found`, `${what} not found on this device`);
    case "invalid_params":
      throw new ApiError(400, "invalid_request", answer.message);
    case "unknown_method":
      throw new ApiError(
        501,
        "not_supported",
        "The executor on this device is too old for this; update wegent-executor.",
      );
    default:
      throw new ApiError(502, "device_error", answer.message);
  }
}
