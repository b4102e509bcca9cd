// MathJax 3: TeX in, SVG out (glyphs are paths inside the page: no font to fetch, nothing from the network).
window.MathJax = {
  tex: {
    inlineMath: [["$", "$"], ["\\(", "\\)"]],
    displayMath: [["$$", "$$"], ["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  svg: { fontCache: "global" },
  options: { ignoreHtmlClass: "tex2jax_ignore", processHtmlClass: "tex2jax_process|arithmatex" }
};
