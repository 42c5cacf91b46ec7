import Kafka
import Metrics

/// The processor's metrics, through swift-metrics (the CLI chooses the backend).
struct PipelineMetrics: Sendable {
    let turns = Counter(label: "plutchik_turns_total")
    let events = Counter(label: "plutchik_events_total")
    let replayed = Counter(label: "plutchik_events_replayed_total")
    let escalations = Counter(label: "plutchik_escalations_total")
    let batchSize = Recorder(label: "plutchik_batch_size")
    /// Micro-batches finished together (one publish-and-wait, transaction and commit).
    let coalescedBatches = Recorder(label: "plutchik_finish_batches")
    let inference = Timer(label: "plutchik_inference_seconds", preferredDisplayUnit: .seconds)
    let auditWrite = Timer(label: "plutchik_postgres_write_seconds", preferredDisplayUnit: .seconds)
    let batchLatency = Timer(label: "plutchik_batch_seconds", preferredDisplayUnit: .seconds)
    let liveDialogues = Gauge(label: "plutchik_live_dialogues")
    /// Input partitions this instance holds (0 is normal when a group has more members than partitions).
    let assignedPartitions = Gauge(label: "plutchik_assigned_partitions")
    let evictions = Counter(label: "plutchik_dialogues_evicted_total")
    let reloadedDialogues = Counter(label: "plutchik_dialogues_reloaded_total")
    let retries = Counter(label: "plutchik_retries_total")
    /// Turns stamped further ahead of the processing clock than the watermark tolerates.
    let skewedTurns = Counter(label: "plutchik_turns_skewed_total")
    /// Stored dialogue states dropped on load (another state format or model version, or unreadable).
    let droppedStates = Counter(label: "plutchik_dialogue_states_dropped_total")
    /// Models swapped in while running (`plutchik run` reloads its model directory).
    let modelSwaps = Counter(label: "plutchik_model_swaps_total")
    /// Batches the shadow model (`--shadow-model`) failed on.
    let shadowFailures = Counter(label: "plutchik_shadow_failures_total")
    /// Replayed offsets whose audit belongs to another turn (a recreated topic): analysed anew.
    let replayMismatches = Counter(label: "plutchik_replay_identity_mismatches_total")
    /// Messages a non-retriable publish error refused, by destination.
    func publishRefused(_ kind: String) -> Counter {
        Counter(label: "plutchik_publish_refused_total", dimensions: [("kind", kind)])
    }

    /// Consumer lag of one input partition (destroyed when the partition is revoked, so summing
    /// the series over instances counts each partition once).
    func lag(_ tp: KafkaTopicPartition) -> Gauge {
        Gauge(label: "plutchik_consumer_lag", dimensions: [("topic", tp.topic), ("partition", String(tp.partition))])
    }

    /// Findings redacted from turns' texts, by entity (`card`, or a tenant pattern's name).
    func redactions(_ entity: String) -> Counter {
        Counter(label: "plutchik_redactions_total", dimensions: [("entity", entity)])
    }

    /// Dead-lettered records, by error code.
    func deadLettered(_ code: String) -> Counter {
        Counter(label: "plutchik_dlq_total", dimensions: [("code", code)])
    }
}
