/**
 * pix2pix for Deno: the library's public surface.
 *
 * Everything a notebook or a script needs, from one import: the config, the
 * paper's networks and losses (`unet`, `patchgan`, `losses`), the aligned
 * data pipeline, the trainer, inference, checkpoints, the compute backend,
 * evaluation (FCN-scores, image metrics, the paper's tables), the datasets,
 * reports and the notebook display helpers. Deeper modules stay importable
 * for the curious, but only what is exported here is the supported API.
 *
 * Shapes are NHWC and images in [-1, 1] unless a function says otherwise.
 *
 * @example Train on the embedded synthetic set, then translate one image
 * ```ts
 * import { DEFAULT_CONFIG, initBackend, train } from "./mod.ts";
 *
 * await initBackend("auto");
 * const summary = await train({
 *   ...DEFAULT_CONFIG,
 *   name: "example",
 *   loadSize: 72,
 *   cropSize: 64,
 *   netG: "unet_64",
 *   ngf: 16,
 *   ndf: 16,
 *   epochs: 1,
 *   epochsDecay: 0,
 *   maxSteps: 10,
 * });
 * console.log(`${summary.steps} steps`);
 * ```
 *
 * @example The paper's networks and their sizes
 * ```ts
 * import {
 *   buildDiscriminator,
 *   buildGenerator,
 *   DEFAULT_CONFIG,
 *   discriminatorSpecFromConfig,
 *   generatorSpecFromConfig,
 *   receptiveField,
 *   trainableParams,
 * } from "./mod.ts";
 *
 * const G = buildGenerator(generatorSpecFromConfig(DEFAULT_CONFIG));
 * const dSpec = discriminatorSpecFromConfig(DEFAULT_CONFIG);
 * console.log(trainableParams(G)); // 54,413,955 for unet_256
 * console.log(receptiveField(dSpec)); // 70
 * buildDiscriminator(dSpec).dispose();
 * G.dispose();
 * ```
 *
 * @module
 */

// The one config object, its enums and checks.
export {
  type BackendName,
  BACKENDS,
  checkThreads,
  DEFAULT_CONFIG,
  type Direction,
  DIRECTIONS,
  DISCRIMINATOR_ARCHS,
  type DiscriminatorArch,
  ENUMS,
  GAN_MODES,
  type GanMode,
  GENERATOR_ARCHS,
  type GeneratorArch,
  type Norm,
  NORMS,
  type Objective,
  OBJECTIVES,
  parseNetG,
  type Preprocess,
  PREPROCESS_MODES,
  type TrainConfig,
  VAL_SOURCES,
  validateConfig,
  type ValSource,
} from "./config.ts";
export {
  CheckpointError,
  ConfigError,
  DatasetError,
  DownloadError,
  EnvironmentError,
  type ErrorSubject,
  ImageError,
  Pix2PixError,
  TrainingDivergedError,
} from "./errors.ts";

// The paper: networks, losses, data.
export {
  activation,
  conv,
  convTranspose,
  dropout,
  InstanceNormalization,
  norm,
} from "./layers.ts";
export {
  buildGenerator,
  type GeneratorSpec,
  generatorSpecFromConfig,
} from "./unet.ts";
export {
  buildDiscriminator,
  discriminatorLayers,
  discriminatorOutputSize,
  type DiscriminatorSpec,
  discriminatorSpecFromConfig,
  receptiveField,
} from "./patchgan.ts";
export {
  discriminatorLoss,
  ganLoss,
  generatorLoss,
  l1Loss,
  objectiveParts,
} from "./losses.ts";
export {
  type AlignedDataset,
  type Batch,
  type DatasetOptions,
  openAlignedDataset,
} from "./data.ts";

// Training and inference.
export {
  Pix2Pix,
  type StepEvent,
  type StepLosses,
  train,
  type TrainOptions,
  type TrainSummary,
} from "./train.ts";
export {
  translate,
  translateImage,
  type TranslateImageOptions,
  type TranslateOptions,
  translateSplit,
  type TranslateSplitOptions,
} from "./translate.ts";
export { modelSizeMultiple, runAnySize } from "./tiling.ts";
export {
  resolveValidation,
  type ValidationScores,
  validationScores,
} from "./validation.ts";
export {
  type Checkpoint,
  linkCheckpoint,
  loadCheckpoint,
  loadGenerator,
  resolveCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
export { lrAt, totalEpochs } from "./schedule.ts";
export { initBackend, type InitBackendOptions } from "./runtime/backend.ts";

// Datasets.
export { FACADES_DIR, resolveDataroot } from "./datasets/dataroot.ts";
export { ensureSynthDataset, writeSynthDataset } from "./datasets/synth.ts";
export {
  classesToRgb,
  FACADE_CLASSES,
  FACADE_PALETTE,
  rgbToClasses,
} from "./datasets/facades.ts";

// Evaluation.
export {
  type EvalReport,
  evaluateResults,
  type ImageScores,
  reportToMarkdown,
} from "./eval/evaluate.ts";
export {
  colourfulness,
  type FloatImage,
  floatImageFromRgb8,
  highFrequencyEnergy,
  l1,
  meanPairwiseL1,
  ownAndOtherL1,
  psnr,
  PSNR_MAX,
  ssim,
} from "./eval/metrics.ts";
export {
  type BootstrapInterval,
  bootstrapMean,
  bootstrapNested,
  type BootstrapOptions,
  bootstrapPairedDifference,
} from "./eval/bootstrap.ts";
export {
  PAPER_GROUND_TRUTH,
  PAPER_ORDERINGS,
  PAPER_TABLE_1,
  PAPER_TABLE_2,
  PAPER_TABLE_3,
  PAPER_TABLES,
  type PaperOrdering,
  type PaperRow,
  paperRow,
  type PaperTable,
} from "./eval/paper.ts";
export { loadSegmenter, trainSegmenter } from "./eval/segmenter.ts";

// The ablation grid (Tables 1-3).
export {
  ABLATE_PRESETS,
  buildGrid,
  type Grid,
  STUDIES,
} from "./ablation/grid.ts";
export { runAblation } from "./ablation/run.ts";
export {
  cellSpreads,
  orderingLine,
  type OrderingResult,
  orderingResults,
  orderingVerdict,
} from "./ablation/spread.ts";

// Reports, images, notebooks.
export { formatSummary, summarize, trainableParams } from "./report/summary.ts";
export {
  lossCurves,
  readLossLog,
  readValLog,
  type StepRecord,
  trainingWarnings,
  type ValRecord,
} from "./report/run_page.ts";
export {
  findModelCard,
  type ModelCard,
  modelCardMarkdown,
} from "./report/model_card.ts";
export { readRgb, type RgbImage, tensorToRgb, writePng } from "./util/image.ts";
export {
  ablationResults,
  batchImages,
  colourBar,
  html,
  imageRow,
  type LiveTraining,
  liveTraining,
  loadPairs,
  mapImage,
  notebookData,
  plot,
  plotlyLoader,
  pngDataUrl,
  runSamples,
  type SliderFrame,
  sliderPlot,
  table,
  tensorImage,
} from "./notebook/display.ts";
export {
  fcnVerdict,
  intervalVerdict,
  type Verdict,
} from "./notebook/findings.ts";
export { codeBeside, sourceOf } from "./notebook/source.ts";
export { NOTEBOOK_BACKEND_ENV, notebookBackend } from "./notebook/backend.ts";
export { scalarOf, valuesOf } from "./notebook/read.ts";
