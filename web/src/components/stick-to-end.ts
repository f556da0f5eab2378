import { type RefObject, useEffect, useRef } from "react";

// Keeping a conversation at its latest message: on desktop the message list scrolls (the page
// never does), on a phone the page scrolls. Either follows new content only while the reader
// is at the end, so someone reading back keeps their place.

/** The phone layout: the list is not a scroll container, the page scrolls (styles.css). */
export function pageScrolls(list: Element | null): boolean {
  if (!list) return false;
  const overflow = getComputedStyle(list).overflowY;
  return overflow !== "auto" && overflow !== "scroll";
}

export function scrollPageToEnd() {
  const root = document.documentElement;
  if (root.scrollHeight > window.innerHeight) window.scrollTo(0, root.scrollHeight);
}

/** Whether the page (the phone layout's scroll area) is at its end, kept as the user scrolls. */
export function usePagePinned() {
  const pinned = useRef(true);
  useEffect(() => {
    const onScroll = () => {
      const root = document.documentElement;
      pinned.current = root.scrollHeight - window.scrollY - window.innerHeight < 80;
    };
    window.addEventListener("scroll", onScroll, { passive: true });
    return () => window.removeEventListener("scroll", onScroll);
  }, []);
  return pinned;
}

/**
 * Content that grows after it was drawn (markdown, a diff, the earlier conversation read from
 * the device, a reply streaming in) keeps the end in view while the reader is there: without
 * this, a task opened at its end drifts up as late content takes its height.
 */
export function useStickToEnd(
  list: RefObject<HTMLDivElement | null>,
  pinned: RefObject<boolean>,
  pagePinned: RefObject<boolean>,
) {
  useEffect(() => {
    const element = list.current;
    if (!element || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      if (pageScrolls(element)) {
        if (pagePinned.current) scrollPageToEnd();
      } else if (pinned.current) {
        element.scrollTop = element.scrollHeight;
      }
    });
    observer.observe(element);
    for (const child of element.children) observer.observe(child);
    return () => observer.disconnect();
  });
}
