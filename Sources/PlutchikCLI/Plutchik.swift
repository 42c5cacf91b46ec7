import ArgumentParser

/// `plutchik`: the stream processor's command line.
@main
struct Plutchik: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plutchik",
        abstract: "Emotion and escalation inference over live conversations in Kafka.",
        subcommands: [
            BrokerCommand.self,
            SmokeCommand.self,
            TrainCommand.self,
            FineTuneCommand.self,
            FineTuneDerailmentCommand.self,
            EvalCommand.self,
            ScoreCommand.self,
            TrainEmbeddingHeadCommand.self,
            TrainEscalationCommand.self,
            EvalEscalationCommand.self,
            EvalRedactionCommand.self,
            RunCommand.self,
            ServeCommand.self,
            MigrateCommand.self,
            DemoCommand.self,
            EmbedCommand.self,
            BenchCommand.self,
        ]
    )
}
