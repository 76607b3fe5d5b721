// The library's PDF preview: PDF.js (served by the app) draws the first pages of the document on
// canvases inside the page. Without JavaScript, the « Télécharger » button stays.
import * as pdfjs from "../vendor/pdfjs/pdf.min.mjs";

const MAX_PAGES = 20;
pdfjs.GlobalWorkerOptions.workerSrc = new URL("../vendor/pdfjs/pdf.worker.min.mjs", import.meta.url).href;

document.querySelectorAll("[data-pdf-preview]").forEach(async (box) => {
  const status = box.querySelector("[data-pdf-status]");
  try {
    const pdf = await pdfjs.getDocument({url: box.dataset.pdfPreview, isEvalSupported: false,
                                          withCredentials: true}).promise;
    const shown = Math.min(pdf.numPages, MAX_PAGES);
    for (let n = 1; n <= shown; n += 1) {
      const page = await pdf.getPage(n);
      const base = page.getViewport({scale: 1});
      const scale = Math.min(2, (box.clientWidth || 800) / base.width) * (window.devicePixelRatio || 1);
      const viewport = page.getViewport({scale});
      const canvas = document.createElement("canvas");
      canvas.width = Math.floor(viewport.width);
      canvas.height = Math.floor(viewport.height);
      canvas.className = "pdf-page border rounded mb-2";
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", box.dataset.pageLabel.replace("%n", n).replace("%t", pdf.numPages));
      box.appendChild(canvas);
      await page.render({canvasContext: canvas.getContext("2d"), viewport}).promise;
    }
    status.textContent = pdf.numPages > shown ? box.dataset.moreLabel.replace("%n", shown).replace("%t", pdf.numPages) : "";
    box.dataset.pdfPages = String(shown);
  } catch (err) {
    status.textContent = box.dataset.failedLabel;
  }
});
