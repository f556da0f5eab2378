import { useNotificationOffer } from "../lib/attention";

/** Asks once, with the reason, before the browser's own prompt; never on page load. */
export function NotificationOffer() {
  const { offer, enable, dismiss } = useNotificationOffer();
  if (!offer) return null;
  return (
    <p className="hint notification-offer" data-testid="notification-offer">
      Get a browser notification when an agent needs your approval or finishes while this tab is in
      the background?{" "}
      <button type="button" onClick={enable} data-testid="notifications-enable">
        Turn on
      </button>{" "}
      <button type="button" className="quiet" onClick={dismiss}>
        No thanks
      </button>
    </p>
  );
}
