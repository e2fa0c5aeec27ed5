# SPDX-License-Identifier: BSD-3-Clause
# Patch hooks, named by the manifests in AutoZyme's patch registry
# (patches/*.json, "languages" -> "r" -> "hook").  A hook receives the
# runtime's thread count and applies it to its upstream's own knobs.

# Seurat parallelises through the future package, whose multicore and
# multisession plans take their default worker count from
# parallelly::availableCores(): the minimum of its methods, among them the
# "mc.cores" option and the "custom" function option.  mclapply() reads
# mc.cores too.  Nothing is loaded or attached: options are read when used.
patch_seurat <- function(threads) {
  options(mc.cores = threads,
          parallelly.availableCores.custom = function() threads)
}
