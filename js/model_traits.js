// JSDoc types of the ClusterExplorer model (the traits of views/widget.py). Types only:
// nothing here runs; editors and `tsc --checkJs` read them.

/**
 * @typedef {import("./decode.js").WireArray} WireArray
 */

/**
 * @typedef {Object} ClusterCard  One entry of the `clusters` trait.
 * @property {number} id            stable cluster id
 * @property {number} position      column in the explainer's outputs
 * @property {number} share         share of all time steps
 * @property {number} mean_entropy
 * @property {number[]} entropy_hist
 * @property {Object<string, number>|null} class_mix
 * @property {{record_index: number, record_id: string, start: number, end: number, start_s: number}[]} examples
 * @property {number} n_segments
 * @property {string} proposed_name  the wave name proposed from landmarks ("" when none); a suggestion, not a label
 * @property {number[]} [ancestors]  ids of the clusters it comes from in the cluster tree, at K-1, K-2, ..., 2
 */

/**
 * @typedef {Object} RecordInfo  The `record` trait.
 * @property {number} index
 * @property {string} record_id
 * @property {number} fs
 * @property {number} n_leads
 * @property {number} n_samples
 * @property {string[]} lead_names
 * @property {string[]|null} true_classes
 * @property {Object<string, number>|null} prediction
 * @property {number} mean_entropy
 * @property {string} rank_info
 * @property {{key: string, pos: number, n: number, source: "ui"|"python"}|null} rank
 * @property {number} k
 * @property {number[]} cluster_ids
 * @property {string} fit_id
 * @property {number[]} [entropy_quantiles]  the percentiles 0, 1, ..., 100 of the dataset entropy
 * @property {number} [effective_k]  clusters holding at least 0.5 % of the browsed ECGs' time steps
 * @property {number} [summary_records]  records the cards, names and uncertainty scale describe
 */

/**
 * @typedef {Object} Selection  The `selection` trait ({} for none).
 * @property {number} start_s
 * @property {number} end_s
 * @property {number} start      first sample
 * @property {number} end        one past the last sample
 */

/**
 * @typedef {Object} Request  The `request` trait (browser -> kernel).
 * @property {number} id
 * @property {number} k
 * @property {number} index
 * @property {string} gradcam_class
 * @property {string} [record_id]
 * @property {string} [class]
 * @property {"uncertain"|"atypical"} [rank]
 * @property {number} [rank_pos]
 * @property {"ui"} [rank_source]
 */

/**
 * @typedef {Object} KJob  The `k_job` trait: a K change running in the background ({} for none).
 * @property {number} id
 * @property {number} k
 * @property {"running"|"done"|"cancelled"|"error"} state
 * @property {string} step
 * @property {number} done
 * @property {number} total
 * @property {number} elapsed_s
 * @property {string} error
 */

/**
 * @typedef {Object} ModelTraits  What `model.get(name)` returns, by trait name.
 * @property {number} index
 * @property {number} n_clusters
 * @property {number} k_min
 * @property {number} k_max
 * @property {number} n_records
 * @property {string[]} class_names
 * @property {"12x1"|"6x2"|"3x4"} ecg_layout
 * @property {number[]} leads
 * @property {boolean} show_gradcam
 * @property {"light"|"strong"|"lead"|"strip"} band_style
 * @property {5|10|20} gain
 * @property {25|50} paper_speed
 * @property {number} font_scale
 * @property {boolean} presentation
 * @property {boolean} fit_height
 * @property {string} gradcam_class
 * @property {string} gradcam_label
 * @property {string} gradcam_unavailable  why Grad-CAM cannot be drawn ("" when it can)
 * @property {string} fit_options  where the clusters' configuration came from, in words
 * @property {Selection|{}} selection
 * @property {number[]} view_range
 * @property {number} highlight_cluster
 * @property {Object<string, {name: string, notes: string}>} cluster_labels
 * @property {string[]} label_vocab
 * @property {string} labels_path
 * @property {string} labels_report
 * @property {string} message
 * @property {Request|{}} request
 * @property {number} response_id
 * @property {boolean} busy
 * @property {string} status
 * @property {string} error
 * @property {RecordInfo} record
 * @property {WireArray} signal          (n_leads, n_samples) float32
 * @property {WireArray} seg_ids         (n_samples,) int16 stable ids
 * @property {WireArray} entropy         (n_samples,) float32
 * @property {WireArray} gradcam         (n_samples,) float32, or shape [0]
 * @property {ClusterCard[]} clusters
 * @property {WireArray} prototypes      (K, 3, n_leads, width) float32
 * @property {WireArray} example_snips   (K, n_examples, n_leads, width) float32
 * @property {{id: number, k?: number, cancel?: boolean}|{}} k_request  browser -> kernel: start or cancel a K change
 * @property {KJob|{}} k_job
 */

export {};
