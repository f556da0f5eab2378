import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./components/App";
import { takePairLink } from "./lib/route";
import { registerServiceWorker } from "./lib/push";
import "./styles.css";

takePairLink(window.location, window.history);
// The app shell for offline starts and the push handler (installable app, notifications).
void registerServiceWorker();

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
