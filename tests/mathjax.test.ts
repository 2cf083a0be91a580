import assert from "node:assert/strict";
import { inlineMathJax } from "../lib/notebook/mathjax.ts";
import { hasChromium, launchChromium } from "../lib/site/chromium.ts";

/** A page shaped like nbconvert's HTML: the CDN MathJax block, then maths. */
const PAGE = `<!DOCTYPE html><html><head><meta charset="utf-8">
<!-- Load mathjax -->
    <script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js?config=TeX-AMS_CHTML-full,Safe"> </script>
    <script type="text/x-mathjax-config">MathJax.Hub.Config({});</script>
    <!-- End of mathjax configuration -->
</head><body>
<p id="inline">The objective $\\mathcal{L}_{cGAN}(G, D) + \\lambda \\mathcal{L}_{L1}(G)$ inline.</p>
<div id="display">$$G^* = \\arg\\min_G \\max_D \\mathcal{L}_{cGAN}(G, D)$$</div>
</body></html>`;

Deno.test("inlineMathJax replaces nbconvert's CDN block, once", async () => {
  const out = await inlineMathJax(PAGE);
  assert.ok(!out.includes("cdnjs"), "the CDN link is gone");
  assert.ok(
    !out.includes("MathJax.Hub.Config"),
    "the MathJax 2 config is gone",
  );
  assert.ok(out.includes("data-pix2pix-mathjax"));
  assert.ok(out.length > 1_000_000, "MathJax itself is inlined");
  assert.equal(
    out.match(/<\/script>/g)!.length,
    2,
    "no early </script> inside",
  );
  assert.equal(await inlineMathJax(out), out, "a second pass changes nothing");
  const bare = await inlineMathJax("<html><head></head><body></body></html>");
  assert.match(bare, /data-pix2pix-mathjax[\s\S]*<\/head>/);
});

Deno.test({
  name: "an inlined page renders its maths as SVG in Chromium with no network",
  ignore: !(await hasChromium()),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const file = `${dir}/page.html`;
    await Deno.writeTextFile(file, await inlineMathJax(PAGE));
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ offline: true });
      const page = await context.newPage();
      await page.goto(`file://${file}`);
      await page.waitForSelector("#display mjx-container svg", {
        timeout: 60_000,
      });
      const counts = await page.evaluate(`({
        inline: document.querySelectorAll("#inline mjx-container svg").length,
        display: document.querySelectorAll("#display mjx-container[display] svg").length,
        raw: document.body.innerText.includes("\\\\mathcal"),
      })`);
      assert.deepEqual(counts, { inline: 1, display: 1, raw: false });
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
