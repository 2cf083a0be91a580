/// <reference lib="dom" />
/**
 * The browser demo page: loads `demo.json` and the generator, picks a
 * backend, and translates painted label maps (labels → photo models) or
 * uploaded images, showing input | output and the time per translation.
 * It opens with the first example of `demo.json` (an input from the run's
 * test split) already translated; "Next example" cycles through them.
 *
 * Page options (URL query): `?backend=webgpu|webgl|wasm|cpu` forces a
 * backend; `?dropout=1` starts in the paper's test mode (dropout on, batch
 * statistics) instead of the default inference mode; `?keepSize=1` starts
 * with uploads kept at their own size.
 *
 * For tests and scripts the page keeps its state in `window.__pix2pix`
 * ({@link DemoHook}).
 *
 * @module
 */
import { FACADE_CLASSES, FACADE_PALETTE } from "../lib/datasets/facades.ts";
import type { DemoInfo } from "../lib/site/demo_site.ts";
import { chooseBackend } from "./backend.ts";
import {
  type Generator,
  loadGenerator,
  type Picture,
  runGenerator,
} from "./generator.ts";
import { bitmapToRgb, decodeImage, showRgb } from "./images.ts";
import { LabelCanvas, PAINT_SIZE, type Tool } from "./label_canvas.ts";

/** Input modes: painting a label map, or an uploaded image. */
type Mode = "paint" | "upload";

/** The page's observable state, `window.__pix2pix`. */
export interface DemoHook {
  /** The model is loaded and the first translation was requested. */
  ready: boolean;
  /** The last error shown on the page, or null. */
  error: string | null;
  /** tfjs backend in use. */
  backend: string;
  /** Inference mode (`training: false`: no dropout, moving statistics). */
  evalMode: boolean;
  /** Height = width the model was trained at, pixels. */
  inputSize: number;
  /** Uploads keep their own size (padded to the model's multiple) instead of being resized. */
  keepSize: boolean;
  /** What the page says about the mode of the output shown. */
  modeText: string;
  mode: Mode;
  /** Site path of the example input shown (from `demo.json`), or null. */
  example: string | null;
  /** Translations done so far. */
  translations: number;
  /** No translation running or scheduled: `lastOutput` is of the current input. */
  settled: boolean;
  /** The last input fed to the model, 8-bit RGB, HWC. */
  lastInput: number[];
  /** Its width and height, pixels (the output's too). */
  lastWidth: number;
  lastHeight: number;
  /** The last output, 8-bit RGB, HWC. */
  lastOutput: number[];
  /** The last output as the model gave it, floats in [-1, 1], HWC. */
  lastOutputValues: number[];
  /** Time of the last translation, ms. */
  lastMs: number;
}

/** Pause after the last edit before re-translating, ms. */
const DEBOUNCE_MS = 120;

const hook: DemoHook = {
  ready: false,
  error: null,
  backend: "",
  evalMode: true,
  inputSize: 0,
  keepSize: false,
  modeText: "",
  mode: "paint",
  example: null,
  translations: 0,
  settled: false,
  lastInput: [],
  lastWidth: 0,
  lastHeight: 0,
  lastOutput: [],
  lastOutputValues: [],
  lastMs: 0,
};
(globalThis as unknown as { __pix2pix: DemoHook }).__pix2pix = hook;

function el<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

function setStatus(text: string, isError = false): void {
  const status = el("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
  if (isError) hook.error = text;
}

/** Marks the one button of `buttons` whose `attr` is `value` as pressed. */
function press(buttons: NodeListOf<HTMLElement>, attr: string, value: string) {
  buttons.forEach((b) =>
    b.setAttribute("aria-pressed", String(b.dataset[attr] === value))
  );
}

/** A simple facade to start from: wall, cornice, two rows of windows, a door. */
function starterFacade(canvas: LabelCanvas): void {
  canvas.fillRect(24, 24, 232, 256, 1);
  canvas.fillRect(24, 24, 232, 40, 4);
  for (const y of [64, 128]) {
    for (const x of [48, 112, 176]) canvas.fillRect(x, y, x + 32, y + 44, 2);
  }
  canvas.fillRect(108, 196, 148, 256, 3);
  canvas.render();
}

/** Runs translations one at a time; edits during a run queue one more. */
class Translator {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #busy = false;
  #again = false;

  constructor(
    readonly gen: Generator,
    readonly input: () => Picture | null,
    readonly show: (input: Picture, output: Picture) => void,
  ) {}

  /** Re-translates `DEBOUNCE_MS` after the last call. */
  schedule(): void {
    hook.settled = false;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, DEBOUNCE_MS);
  }

  async #run(): Promise<void> {
    if (this.#busy) {
      this.#again = true;
      return;
    }
    const input = this.input();
    if (!input) {
      hook.settled = this.#timer === undefined;
      return;
    }
    this.#busy = true;
    try {
      const { output, values, ms } = await runGenerator(
        this.gen,
        input,
        hook.evalMode,
      );
      this.show(input, output);
      hook.lastInput = Array.from(input.rgb);
      hook.lastWidth = input.width;
      hook.lastHeight = input.height;
      hook.lastOutput = Array.from(output.rgb);
      hook.lastOutputValues = Array.from(values);
      hook.lastMs = ms;
      hook.translations++;
      el("ms").textContent = ms.toFixed(1);
    } catch (e) {
      setStatus(`translation failed: ${(e as Error).message}`, true);
    } finally {
      this.#busy = false;
    }
    if (this.#again) {
      this.#again = false;
      await this.#run();
    } else hook.settled = this.#timer === undefined;
  }
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const res = await fetch("demo.json");
  if (!res.ok) throw new Error(`demo.json: HTTP ${res.status}`);
  const info = await res.json() as DemoInfo;
  el("title").textContent = `${info.title} (${info.netG}, step ${info.step})`;
  const backend = await chooseBackend(params.get("backend"));
  hook.backend = backend.name;
  el("backend").textContent = backend.name;
  el("backend").title = backend.skipped.join("\n");
  setStatus(`loading ${info.model}…`);
  const gen = await loadGenerator(info.model);
  hook.inputSize = gen.size;
  el("size").textContent = `${gen.size}x${gen.size}`;

  const dropout = el<HTMLInputElement>("dropout");
  dropout.checked = params.get("dropout") === "1";
  const showMode = () => {
    hook.evalMode = !dropout.checked;
    hook.modeText = hook.evalMode
      ? "inference mode (moving batch-norm statistics, no dropout; as translate --eval)"
      : "paper test mode (batch statistics, dropout on; as translate without --eval)";
    el("mode").textContent = hook.modeText;
  };
  showMode();

  // Paint mode.
  const labels = new LabelCanvas(el<HTMLCanvasElement>("paint"));
  const paintOut = el<HTMLCanvasElement>("paint-output");
  const paint = new Translator(
    gen,
    () => ({ rgb: labels.toRgb(gen.size), width: gen.size, height: gen.size }),
    (_input, output) => showRgb(paintOut, output),
  );
  labels.onChange = () => paint.schedule();
  const palette = el("palette");
  FACADE_CLASSES.forEach((name, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.class = String(i);
    b.textContent = name;
    const c = FACADE_PALETTE.subarray(3 * i, 3 * i + 3);
    b.style.background = `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
    b.style.color = 0.3 * c[0] + 0.6 * c[1] + 0.1 * c[2] < 110
      ? "#fff"
      : "#000";
    palette.append(b);
  });
  const classButtons = palette.querySelectorAll<HTMLElement>("button");
  classButtons.forEach((b) =>
    b.addEventListener("click", () => {
      labels.currentClass = Number(b.dataset.class);
      press(classButtons, "class", b.dataset.class!);
    })
  );
  press(classButtons, "class", String(labels.currentClass));
  const toolButtons = document.querySelectorAll<HTMLElement>("[data-tool]");
  toolButtons.forEach((b) =>
    b.addEventListener("click", () => {
      labels.tool = b.dataset.tool as Tool;
      press(toolButtons, "tool", labels.tool);
    })
  );
  press(toolButtons, "tool", labels.tool);
  const brushSize = el<HTMLInputElement>("brush-size");
  brushSize.addEventListener(
    "input",
    () => labels.brushSize = Number(brushSize.value),
  );
  el("undo").addEventListener("click", () => labels.undo());
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "z" && hook.mode === "paint") {
      e.preventDefault();
      labels.undo();
    }
  });
  el("clear").addEventListener("click", () => labels.clear());
  el<HTMLInputElement>("example").addEventListener("change", async (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    try {
      const bitmap = await decodeImage(file);
      labels.load(bitmapToRgb(bitmap, PAINT_SIZE, info.direction, false).rgb);
      bitmap.close();
      hook.example = null;
      setStatus(`label map from ${file.name}`);
    } catch (err) {
      setStatus((err as Error).message, true);
    }
  });

  // Upload mode: the image shown is decoded once and redrawn when the size
  // option changes.
  let uploaded: Picture | null = null;
  let source: ImageBitmap | null = null;
  const upload = new Translator(
    gen,
    () => uploaded,
    (input, output) => {
      showRgb(el("upload-input"), input);
      showRgb(el("upload-output"), output);
    },
  );
  const keepSize = el<HTMLInputElement>("keep-size");
  keepSize.checked = params.get("keepSize") === "1";
  hook.keepSize = keepSize.checked;
  el("multiple").textContent = String(gen.multiple);
  /** Makes `bitmap` the upload input, drawn at the size the option asks. */
  const setSource = (bitmap: ImageBitmap) => {
    if (source !== bitmap) source?.close();
    source = bitmap;
    uploaded = bitmapToRgb(
      bitmap,
      keepSize.checked ? null : gen.size,
      info.direction,
      true,
    );
  };
  const takeFile = async (file: File | undefined) => {
    if (!file) return;
    try {
      setSource(await decodeImage(file));
      hook.example = null;
      setStatus(`translating ${file.name}`);
      upload.schedule();
    } catch (err) {
      setStatus((err as Error).message, true);
    }
  };
  keepSize.addEventListener("change", () => {
    hook.keepSize = keepSize.checked;
    if (!source) return;
    setSource(source);
    showRgb(el("upload-input"), uploaded!);
    upload.schedule();
  });
  el<HTMLInputElement>("upload").addEventListener(
    "change",
    (e) => takeFile((e.target as HTMLInputElement).files?.[0]),
  );
  const drop = el("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    takeFile(e.dataTransfer?.files[0]);
  });

  // Examples from the run's test split, in both modes.
  const labelInput = info.inputKind === "facade-labels";
  const examples = info.examples ?? [];
  const nextExample = el<HTMLButtonElement>("next-example");
  nextExample.hidden = examples.length < 2;
  let exampleIndex = 0;
  const showExample = async (i: number) => {
    exampleIndex = i % examples.length;
    const path = examples[exampleIndex];
    const res = await fetch(path);
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    const bitmap = await decodeImage(await res.blob());
    if (labelInput) {
      labels.load(bitmapToRgb(bitmap, PAINT_SIZE, info.direction, false).rgb);
    }
    setSource(bitmap);
    showRgb(el("upload-input"), uploaded!);
    hook.example = path;
    nextExample.textContent = `Next example (${
      (exampleIndex + 1) % examples.length + 1
    }/${examples.length})`;
    setStatus(
      `example ${
        exampleIndex + 1
      } of ${examples.length} from the run's test split: ${
        labelInput ? "paint on it, " : ""
      }or use your own image`,
    );
  };
  nextExample.addEventListener("click", async () => {
    try {
      await showExample(exampleIndex + 1);
      current().schedule();
    } catch (err) {
      setStatus((err as Error).message, true);
    }
  });

  // Modes and options.
  const tabs = document.querySelectorAll<HTMLElement>("[data-mode]");
  const current = () => hook.mode === "paint" ? paint : upload;
  const setMode = (mode: Mode) => {
    hook.mode = mode;
    press(tabs, "mode", mode);
    el("paint-panel").hidden = mode !== "paint";
    el("upload-panel").hidden = mode !== "upload";
    current().schedule();
  };
  tabs.forEach((b) =>
    b.addEventListener("click", () => setMode(b.dataset.mode as Mode))
  );
  if (info.inputKind !== "facade-labels") {
    document.querySelector<HTMLElement>('[data-mode="paint"]')!.hidden = true;
  }
  dropout.addEventListener("change", () => {
    showMode();
    current().schedule();
  });
  setStatus(
    labelInput
      ? "paint a facade label map (or load one); the photo follows"
      : "drop or choose an image",
  );
  if (examples.length > 0) {
    await showExample(0).catch((err) =>
      setStatus(`example: ${(err as Error).message}`, true)
    );
  } else if (labelInput) starterFacade(labels);
  setMode(labelInput ? "paint" : "upload");
  hook.ready = true;
}

main().catch((e) => setStatus(`error: ${(e as Error).message}`, true));
