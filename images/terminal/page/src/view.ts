/**
 * The page around the terminal (its elements are in build.mjs's HTML): the time-left indicator, the
 * connection overlay, the end page and the upload panel. Only presentation; main.ts decides what to show.
 */
import { endMessage, type EndReason, extendHint, formatLeft, type TimeNotice } from "./notice.ts";

function element<T extends HTMLElement = HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

/** The "ends in" indicator; with the extend command inside the warning window. */
export class TimeIndicator {
  private notice?: TimeNotice;
  private receivedAt = 0;
  private timer?: number;

  show(notice: TimeNotice): void {
    this.notice = notice;
    this.receivedAt = performance.now();
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.render(), 1000);
    }
    this.render();
  }

  hide(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.notice = undefined;
    element("cloudshell-time").hidden = true;
  }

  private render(): void {
    const box = element("cloudshell-time");
    const notice = this.notice;
    if (!notice || notice.left === undefined) {
      box.hidden = true;
      return;
    }
    const left = notice.left - (performance.now() - this.receivedAt) / 1000;
    const warning = left <= notice.warn;
    box.hidden = false;
    box.classList.toggle("warning", warning);
    element("cloudshell-time-left").textContent = left > 0 ? `Ends in ${formatLeft(left)}` : "Ending now";
    const hint = element("cloudshell-time-hint");
    hint.hidden = !warning;
    element("cloudshell-time-command").textContent = extendHint(notice);
  }
}

/** A line over the terminal about the connection ("Reconnecting in 4 s"), or none. */
export function connectionOverlay(text: string | undefined): void {
  const overlay = element("cloudshell-overlay");
  overlay.hidden = text === undefined;
  overlay.textContent = text ?? "";
}

/**
 * The end page: why the session is over, and a new session only when one can be had (`restart` given).
 * The terminal stays visible beneath, so its last output can still be read and copied.
 */
export function showEnd(
  reason: EndReason,
  restart?: () => void,
  label = "Start a new session",
): void {
  const page = element("cloudshell-end");
  page.dataset.reason = reason;
  element("cloudshell-end-title").textContent = reason === "once"
    ? "This terminal is in use"
    : "This session has ended";
  element("cloudshell-end-reason").textContent = endMessage(reason);
  const button = element<HTMLButtonElement>("cloudshell-end-restart");
  button.hidden = !restart;
  button.textContent = label;
  button.onclick = restart
    ? () => {
      page.hidden = true;
      restart();
    }
    : null;
  page.hidden = false;
  if (restart) button.focus();
}

export function hideEnd(): void {
  element("cloudshell-end").hidden = true;
}

/**
 * `rz` asks for files: the file chooser opens at once where the browser allows it (the Enter that started
 * `rz` counts as the user's gesture), and the panel's button opens it otherwise.
 */
export function chooseFiles(): Promise<File[]> {
  const panel = element("cloudshell-upload");
  const input = element<HTMLInputElement>("cloudshell-upload-input");
  const choose = element<HTMLButtonElement>("cloudshell-upload-choose");
  const cancel = element<HTMLButtonElement>("cloudshell-upload-cancel");
  return new Promise((resolve) => {
    const done = (files: File[]) => {
      panel.hidden = true;
      input.onchange = choose.onclick = cancel.onclick = null;
      input.value = "";
      resolve(files);
    };
    input.onchange = () => done([...input.files ?? []]);
    choose.onclick = () => input.click();
    cancel.onclick = () => done([]);
    panel.hidden = false;
    choose.focus();
    try {
      input.click();
    } catch {
      // the button is there
    }
  });
}

/** Hands a file to the browser as a download; what had the focus (the terminal) keeps it. */
export function saveFile(name: string, data: Blob): void {
  const focused = document.activeElement;
  const url = URL.createObjectURL(data);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  if (focused instanceof HTMLElement) focused.focus();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
