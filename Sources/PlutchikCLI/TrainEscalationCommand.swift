import ArgumentParser
import Contracts
import Emotion
import Encoder
import Escalation
import Foundation
import Training

/// `plutchik train-escalation`: trains the ODE-RNN escalation forecaster and its discrete GRU
/// baseline, evaluates both end to end on a validation file, writes the model directory.
struct TrainEscalationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-escalation",
        abstract: "Train the escalation forecaster (ODE-RNN) and its GRU baseline; write weights and manifest.",
        discussion: """
            Training inputs (--inputs): crossfit (default) = the heads' predictions on the training file, \
            cross-fitted: heads trained on the other --folds folds of dialogues (early-stopped on --val like \
            the committed heads) predict each fold, so no turn is seen by the heads that score it and train \
            inputs are as noisy as served ones; labels = one-hot annotated emotions (oracle). Labels are always \
            the annotated emotions; inter-turn gaps are synthesised (EscalationGaps) and re-drawn every epoch. \
            --corpus adds a timestamped corpus with real gaps, distilled by the committed heads (each turn's \
            prediction is the input, its top class the label source); --corpus-holdout-percent of its \
            dialogues are held out and reported. Validation uses the committed heads' predictions on --val \
            (end to end, as `plutchik eval`). Writes DIR/weights.json (ODE), DIR/gru.json (baseline) and \
            DIR/manifest.json. Deterministic for a seed.

            --derailment FILE adds real conversations labelled by whether their next comment derailed \
            (JSONL turns with "derails"; the heads' predictions are the inputs). With --cv-folds K (default 5) \
            the forecaster is first cross-validated over all training dialogues: out-of-fold derailment \
            AUROC/accuracy, seed next-2 figures and alerts judged with thresholds chosen on the other folds \
            (--max-false-alerts per 100 calm dialogues); the alarm shipped is chosen on all out-of-fold risks. \
            --val is never used to choose anything: it is a report.
            """
    )

    enum Inputs: String, ExpressibleByArgument { case crossfit, labels }

    @Option(help: "Training dialogues (JSONL, dataset format).")
    var train: String
    @Option(help: "Validation dialogues (JSONL), for evaluation and the cross-fitted heads' early stopping.")
    var val: String
    @Option(help: "Output directory.")
    var out: String = "Models/escalation"
    @Option(help: "Epochs.")
    var epochs: Int = 60
    @Option(help: "Epochs of the ODE-RNN started from the GRU (default: --epochs).")
    var odeEpochs: Int?
    @Option(help: "Random seed (initialisation, shuffling, gap resampling).")
    var seed: UInt64 = 1
    @Option(help: "Latent width (16–32).")
    var latent: Int = 16
    @Option(help: "Learning rate.")
    var lr: Float = 3e-3
    @Option(help: "Training inputs: crossfit (heads' out-of-fold predictions) or labels (oracle one-hots).")
    var inputs: Inputs = .crossfit
    @Option(help: "Folds for --inputs crossfit.")
    var folds: Int = 5
    @Option(help: "Timestamped unlabelled corpus for real timing (Deploy/fetch-corpus.sh output).")
    var corpus: String?
    @Option(help: "Percent of corpus dialogues held out for the real-timing report.")
    var corpusHoldoutPercent = 20
    @Option(help: "Loss weight of a corpus dialogue; default: the corpus's turns weigh as much in total as the training file's.")
    var corpusWeight: Float?
    @Option(help: "Derailment conversations (JSONL turns with \"derails\") to train on.")
    var derailment: String?
    @Option(help: "Loss weight of a derailment conversation (a seed dialogue weighs 1).")
    var derailmentWeight: Float = 1
    @Option(help: "Folds of the forecaster's cross-validation (0: none; the default alarm is then kept).")
    var cvFolds = 5
    @Option(help: "False alerts per 100 calm dialogues the alarm may raise (the thresholds' budget).")
    var maxFalseAlerts = 15.0
    @Flag(inversion: .prefixedNo, help: "Start the ODE-RNN from the trained GRU with a still field (the GRU is its epoch 0), so it adds timing only where the hold-out loss falls.")
    var odeFromGRU = true
    @OptionGroup var heads: HeadsOptions

    func validate() throws {
        guard (4...64).contains(latent), epochs >= 1 else { throw ValidationError("--latent must be 4–64 and --epochs ≥ 1") }
        guard folds >= 2 else { throw ValidationError("--folds must be ≥ 2") }
        guard cvFolds == 0 || cvFolds >= 2 else { throw ValidationError("--cv-folds must be 0 or ≥ 2") }
    }

    func run() throws {
        let gaps = EscalationGaps()
        let trainURL = URL(fileURLWithPath: train), valURL = URL(fileURLWithPath: val)
        let log = { (s: String) in FileHandle.standardError.write(Data((s + "\n").utf8)) }
        let trainTurns = try LabelledTurn.load(trainURL), valTurns = try LabelledTurn.load(valURL)
        let model = try heads.loadHeads()
        let embedder = try TextEmbedder(modelDirectory: heads.modelDirectory, adapter: model.encoderAdapterDirectory, cacheDirectory: HeadsOptions.cacheDirectory)

        // Validation: the committed heads' predictions, end to end.
        let valInputs = try EscalationSupport.predictions(valTurns, heads: model, embedder: embedder)
        let valSet = EscalationDialogue.labelled(valTurns, inputs: valInputs, gaps: gaps, seed: 0)
        let valOracleSet = EscalationDialogue.labelled(valTurns, inputs: nil, gaps: gaps, seed: 0)

        // Training inputs.
        var trainInputs: [EmotionPrediction]?
        let method: String
        switch inputs {
        case .labels:
            method = "Plutchik train: one-hot annotated emotion, its ring intensity and the sarcasm flag (oracle inputs)"
        case .crossfit:
            func data(_ turns: [LabelledTurn]) throws -> HeadsTrainingData {
                let texts = turns.map(\.text)
                let all = try embedder.embed(texts + texts.map(EmojiFeatures.strip))
                return HeadsTrainingData(turns: turns, embeddings: Array(all[0..<turns.count]), textOnlyEmbeddings: Array(all[turns.count...]))
            }
            let provenance = HeadsProvenance(version: "crossfit", trainingDataSHA256: "", validationDataSHA256: "", encoderSHA256: "")
            var cf = HeadsTrainingConfiguration()
            cf.seed = model.manifest.seed
            trainInputs = HeadsTrainer.crossFittedPredictions(train: try data(trainTurns), val: try data(valTurns), folds: folds,
                                                              provenance: provenance, configuration: cf, progress: log)
            method = "Plutchik train: \(folds)-fold cross-fitted heads predictions (dialogues split by FNV-1a hash of dialogue_id mod \(folds); heads trained with the default `plutchik train` settings, seed \(cf.seed)+fold, on the other folds, early-stopped on val, predict the held-out fold in dialogue order with context), so no training turn is scored by heads that saw it"
        }
        var trainSet = EscalationDialogue.labelled(trainTurns, inputs: trainInputs, gaps: gaps, seed: 0)
        let plutchikTrain = trainSet

        // Real timing: the distilled corpus.
        var corpusInfo: EscalationManifest.Corpus?
        var corpusHoldout: [EscalationDialogue] = []
        var commands: [String] = []
        if let corpus {
            let url = URL(fileURLWithPath: corpus)
            let all = try EscalationSupport.distilledCorpus(url, heads: model, embedder: embedder)
            let (ctrain, cheld) = EscalationSupport.split(all, holdoutPercent: corpusHoldoutPercent)
            corpusHoldout = cheld
            let scored = { (ds: [EscalationDialogue]) in ds.reduce(0) { $0 + $1.turns.count - 1 } }
            let w = corpusWeight ?? Float(scored(trainSet)) / Float(max(scored(ctrain), 1))
            var pos = 0, cnt = 0
            for d in all { for i in d.turns.indices { if let y = d.label(at: i) { cnt += 1; if y { pos += 1 } } } }
            corpusInfo = EscalationManifest.Corpus(
                file: url.lastPathComponent, hash: try EscalationManifest.hash(fileAt: url),
                method: "distillation of the corpus's dialogues with 2 or more messages: the committed heads (\(model.manifest.version)) predict every corpus turn in dialogue order with context; the prediction is the forecaster's input and its top class stands for the annotated emotion (escalation = anger, rage, aggressiveness, contempt, disgust, loathing). Real timestamps, relative to each dialogue's first turn, never re-drawn; roles unknown. Dialogues held out by FNV-1a hash of '\(EscalationSupport.corpusSalt)' + dialogue_id mod 100 < \(corpusHoldoutPercent)",
                dialogues: all.count, turns: all.reduce(0) { $0 + $1.turns.count }, trainDialogues: ctrain.count,
                holdoutDialogues: cheld.count, holdoutPercent: corpusHoldoutPercent, weight: w,
                positiveRate: Double(pos) / Double(max(cnt, 1)),
                gapQuantilesSeconds: EscalationManifest.gapQuantiles(all),
                syntheticGapQuantilesSeconds: EscalationManifest.gapQuantiles(plutchikTrain))
            trainSet += ctrain.map { var d = $0; d.weight = w; return d }
            log(String(format: "corpus: %d dialogues (%d train, %d held out), weight %.4f, positive rate %.3f",
                       all.count, ctrain.count, cheld.count, w, corpusInfo!.positiveRate))
            let messages = try Data(contentsOf: url).split(separator: UInt8(ascii: "\n")).count
            commands.append("Deploy/fetch-corpus.sh ~/.cache/plutchik/\(url.lastPathComponent) \(messages)")
        }

        var derailmentInfo: EscalationManifest.Derailment?
        if let derailment {
            let url = URL(fileURLWithPath: derailment)
            let conversations = try EscalationSupport.derailment(url, heads: model, embedder: embedder)
            derailmentInfo = EscalationManifest.Derailment(
                file: url.lastPathComponent, hash: try EscalationManifest.hash(fileAt: url), conversations: conversations.count,
                turns: conversations.reduce(0) { $0 + $1.turns.count },
                derailing: conversations.filter { $0.outcome?.escalates == true }.count, weight: derailmentWeight)
            trainSet += conversations.map { var d = $0; d.weight = derailmentWeight; return d }
            log("derailment: \(conversations.count) conversations, \(derailmentInfo!.derailing) derailing")
        }

        var o = EscalationTrainer.Options()
        o.seed = seed; o.epochs = epochs; o.odeEpochs = odeEpochs; o.latentDim = latent; o.learningRate = lr
        var cvReport: EscalationCrossValidationReport?
        if cvFolds > 0 {
            let cvStart = Date()
            // The distilled corpus trains every fold and is never scored: its labels are the heads' own.
            let distilled = { (d: EscalationDialogue) in d.realTiming && d.outcome == nil }
            let scored = trainSet.filter { !distilled($0) }
            let cv = try EscalationTrainer.crossValidate(scored, alsoTrainOn: trainSet.filter(distilled), folds: cvFolds, options: o,
                                                         gaps: gaps, odeFromGRU: odeFromGRU, log: log)
            cvReport = EscalationCrossValidationReport(scored, cv: cv, maxFalseAlertsPer100Calm: maxFalseAlerts)
            log(String(format: "cross-validated in %.1f s", Date().timeIntervalSince(cvStart)))
            log(EscalationSupport.table(cvReport!))
        }
        let start = Date()
        let gruResult = EscalationTrainer.train(trainSet, ode: false, options: o, gaps: gaps, log: log)
        let odeResult = EscalationTrainer.train(trainSet, ode: true, options: o, gaps: gaps,
                                                initial: odeFromGRU ? gruResult.weights : nil, log: log)
        log(String(format: "trained in %.1f s", Date().timeIntervalSince(start)))

        let alarm = cvReport?.chosenAlarm ?? EscalationAlarm()
        let ode = EscalationForecaster(weights: odeResult.weights, alarm: alarm)
        let gru = EscalationForecaster(weights: gruResult.weights, alarm: alarm)
        let valSeries = try EscalationSeries(valSet, forecaster: ode, gru: gru)
        var valReport = EscalationReport(valSet, series: valSeries)
        valReport.alerts = valSeries.alerts(alarm)
        let valOracle = try EscalationReport.evaluate(valOracleSet, forecaster: ode, gru: gru)
        let holdoutReport = try EscalationReport.evaluate(odeResult.holdout.filter { !$0.realTiming }, forecaster: ode, gru: gru)
        let realTiming = corpusHoldout.isEmpty ? nil : try EscalationReport.evaluate(corpusHoldout, forecaster: ode, gru: gru)

        var command = "plutchik train-escalation --train \(trainURL.lastPathComponent) --val \(valURL.lastPathComponent) --epochs \(epochs)\(odeEpochs.map { " --ode-epochs \($0)" } ?? "") --seed \(seed) --latent \(latent) --lr \(lr) --inputs \(inputs.rawValue)"
        if inputs == .crossfit { command += " --folds \(folds)" }
        if !odeFromGRU { command += " --no-ode-from-gru" }
        if let derailment { command += " --derailment \(URL(fileURLWithPath: derailment).lastPathComponent) --derailment-weight \(derailmentWeight)" }
        command += " --cv-folds \(cvFolds) --max-false-alerts \(maxFalseAlerts)"
        if let corpus {
            command += " --corpus ~/.cache/plutchik/\(URL(fileURLWithPath: corpus).lastPathComponent) --corpus-holdout-percent \(corpusHoldoutPercent)"
            if let corpusWeight { command += " --corpus-weight \(corpusWeight)" }
        }
        commands.append(command)
        let dir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try odeResult.weights.save(dir.appendingPathComponent("weights.json"))
        try gruResult.weights.save(dir.appendingPathComponent("gru.json"))
        var manifest = EscalationManifest(
            version: 2, command: command,
            trainHash: try EscalationManifest.hash(fileAt: trainURL), valHash: try EscalationManifest.hash(fileAt: valURL),
            gaps: gaps, training: o, alarm: alarm, val: valReport, holdout: holdoutReport,
            bestEpochODE: odeResult.bestEpoch, bestEpochGRU: gruResult.bestEpoch)
        manifest.inputs = method + "; validation inputs: the committed heads' predictions on val (end to end)"
        manifest.commands = commands
        manifest.valOracle = valOracle
        manifest.corpus = corpusInfo
        manifest.realTiming = realTiming
        manifest.derailment = derailmentInfo
        manifest.crossValidation = cvReport
        manifest.valAlerts = EscalationAlertReport(risks: valSeries.risk, dialogues: valSet, alarm: alarm)
        manifest.weightsSHA256 = Dictionary(uniqueKeysWithValues: try ["weights.json", "gru.json"].map {
            ($0, try SHA256.hex(fileAt: dir.appendingPathComponent($0)))
        })
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(manifest).write(to: dir.appendingPathComponent("manifest.json"), options: .atomic)
        log(EscalationSupport.table(valReport, title: "val (heads inputs, synthetic gaps)"))
        log(EscalationSupport.table(valOracle, title: "val (oracle inputs)"))
        if let realTiming { log(EscalationSupport.table(realTiming, title: "real timing (corpus hold-out)")) }
        print(String(decoding: try enc.encode(valReport), as: UTF8.self))
    }
}
