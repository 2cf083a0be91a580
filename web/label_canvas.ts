/// <reference lib="dom" />
/**
 * The painting canvas of a labels → photo model: a map of facade class ids
 * (palette and classes from `lib/datasets/facades.ts`) edited with a rectangle or a
 * brush tool, with undo and clear, sampled down to the model's input size.
 *
 * @module
 */
import {
  classesToRgb,
  FACADE_PALETTE,
  rgbToClasses,
} from "../lib/datasets/facades.ts";
import { rgbToImageData } from "./images.ts";

/** Side of the painted class map, pixels (the facades images' size). */
export const PAINT_SIZE = 256;

/** Painting tools. */
export type Tool = "rect" | "brush";

/** Undo steps kept. */
const UNDO_DEPTH = 50;

/** Class 0, background, fills a cleared canvas. */
const BACKGROUND = 0;

/**
 * A class map of `PAINT_SIZE x PAINT_SIZE` painted with pointer events on a
 * canvas element. `onChange` fires after every edit (while dragging too).
 */
export class LabelCanvas {
  /** Class id per pixel, row-major. */
  readonly classes = new Uint8Array(PAINT_SIZE * PAINT_SIZE);
  /** Class painted by the tools. */
  currentClass = 1;
  tool: Tool = "rect";
  /** Brush diameter, paint pixels. */
  brushSize = 12;
  /** Called after each change of the class map. */
  onChange: () => void = () => {};

  readonly #canvas: HTMLCanvasElement;
  readonly #undo: Uint8Array[] = [];
  #dragStart: { x: number; y: number } | null = null;
  #last: { x: number; y: number } | null = null;

  /** @param canvas the element to paint on (its pixel size is set to PAINT_SIZE) */
  constructor(canvas: HTMLCanvasElement) {
    this.#canvas = canvas;
    canvas.width = PAINT_SIZE;
    canvas.height = PAINT_SIZE;
    canvas.addEventListener("pointerdown", (e) => this.#down(e));
    canvas.addEventListener("pointermove", (e) => this.#move(e));
    canvas.addEventListener("pointerup", (e) => this.#up(e));
    this.classes.fill(BACKGROUND);
    this.render();
  }

  /** Fills the rectangle `[x0, x1) x [y0, y1)` (clipped) with `cls`. */
  fillRect(x0: number, y0: number, x1: number, y1: number, cls: number): void {
    const xa = Math.max(0, Math.min(x0, x1)),
      xb = Math.min(PAINT_SIZE, Math.max(x0, x1));
    const ya = Math.max(0, Math.min(y0, y1)),
      yb = Math.min(PAINT_SIZE, Math.max(y0, y1));
    for (let y = ya; y < yb; y++) {
      this.classes.fill(cls, y * PAINT_SIZE + xa, y * PAINT_SIZE + xb);
    }
  }

  /** Saves the current map on the undo stack (before an edit). */
  checkpoint(): void {
    this.#undo.push(this.classes.slice());
    if (this.#undo.length > UNDO_DEPTH) this.#undo.shift();
  }

  /** Reverts the last edit; false when there is nothing to undo. */
  undo(): boolean {
    const prev = this.#undo.pop();
    if (!prev) return false;
    this.classes.set(prev);
    this.#changed();
    return true;
  }

  /** Fills everything with the background class (undoable). */
  clear(): void {
    this.checkpoint();
    this.classes.fill(BACKGROUND);
    this.#changed();
  }

  /**
   * Replaces the map by a label image (undoable): every pixel takes the class
   * of the nearest palette colour, as `lib/datasets/facades.ts` maps the dataset's JPEGs.
   *
   * @param rgb `PAINT_SIZE x PAINT_SIZE` 8-bit RGB, HWC
   */
  load(rgb: Uint8Array): void {
    this.checkpoint();
    this.classes.set(rgbToClasses(rgb, PAINT_SIZE * PAINT_SIZE));
    this.#changed();
  }

  /**
   * The label map at the model's input size, nearest-neighbour sampled, as
   * 8-bit RGB palette colours (HWC, `size * size * 3` bytes).
   */
  toRgb(size: number): Uint8Array {
    const out = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      const sy = Math.floor(((y + 0.5) * PAINT_SIZE) / size);
      for (let x = 0; x < size; x++) {
        const sx = Math.floor(((x + 0.5) * PAINT_SIZE) / size);
        const c = this.classes[sy * PAINT_SIZE + sx];
        out.set(FACADE_PALETTE.subarray(3 * c, 3 * c + 3), (y * size + x) * 3);
      }
    }
    return out;
  }

  /** Redraws the canvas, with the rectangle being dragged outlined. */
  render(preview?: { x0: number; y0: number; x1: number; y1: number }): void {
    const ctx = this.#canvas.getContext("2d")!;
    const rgb = classesToRgb(this.classes);
    ctx.putImageData(rgbToImageData(rgb, PAINT_SIZE, PAINT_SIZE), 0, 0);
    if (preview) {
      const c = FACADE_PALETTE.subarray(3 * this.currentClass);
      ctx.fillStyle = `rgba(${c[0]}, ${c[1]}, ${c[2]}, 0.6)`;
      ctx.strokeStyle = "#fff";
      const x = Math.min(preview.x0, preview.x1),
        y = Math.min(preview.y0, preview.y1);
      const w = Math.abs(preview.x1 - preview.x0),
        h = Math.abs(preview.y1 - preview.y0);
      ctx.fillRect(x, y, w, h);
      ctx.strokeRect(x + 0.5, y + 0.5, w, h);
    }
  }

  #changed(): void {
    this.render();
    this.onChange();
  }

  /** Pointer position in paint pixels. */
  #pos(e: PointerEvent): { x: number; y: number } {
    const r = this.#canvas.getBoundingClientRect();
    return {
      x: Math.round(((e.clientX - r.left) * PAINT_SIZE) / r.width),
      y: Math.round(((e.clientY - r.top) * PAINT_SIZE) / r.height),
    };
  }

  #dab(x: number, y: number): void {
    const r = this.brushSize / 2;
    for (let dy = -Math.ceil(r); dy <= r; dy++) {
      for (let dx = -Math.ceil(r); dx <= r; dx++) {
        const px = x + dx, py = y + dy;
        if (
          dx * dx + dy * dy <= r * r && px >= 0 && py >= 0 &&
          px < PAINT_SIZE && py < PAINT_SIZE
        ) this.classes[py * PAINT_SIZE + px] = this.currentClass;
      }
    }
  }

  /** Brush stroke from the last point to `p`, dabs one pixel apart. */
  #stroke(p: { x: number; y: number }): void {
    const from = this.#last ?? p;
    const steps = Math.max(1, Math.hypot(p.x - from.x, p.y - from.y));
    for (let i = 0; i <= steps; i++) {
      this.#dab(
        Math.round(from.x + ((p.x - from.x) * i) / steps),
        Math.round(from.y + ((p.y - from.y) * i) / steps),
      );
    }
    this.#last = p;
    this.#changed();
  }

  #down(e: PointerEvent): void {
    this.#canvas.setPointerCapture(e.pointerId);
    this.checkpoint();
    const p = this.#pos(e);
    if (this.tool === "rect") this.#dragStart = p;
    else {
      this.#last = null;
      this.#stroke(p);
    }
  }

  #move(e: PointerEvent): void {
    const p = this.#pos(e);
    if (this.#dragStart) {
      this.render({
        x0: this.#dragStart.x,
        y0: this.#dragStart.y,
        x1: p.x,
        y1: p.y,
      });
    } else if (this.#last) this.#stroke(p);
  }

  #up(e: PointerEvent): void {
    const p = this.#pos(e);
    if (this.#dragStart) {
      const s = this.#dragStart;
      this.#dragStart = null;
      this.fillRect(s.x, s.y, p.x, p.y, this.currentClass);
      this.#changed();
    }
    this.#last = null;
  }
}
