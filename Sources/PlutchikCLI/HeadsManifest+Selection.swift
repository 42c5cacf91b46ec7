import Contracts
import Emotion
import Foundation
import Logging
import Training

extension HeadsManifest {
    /// Records the GoEmotions files the heads were trained and selected with, and the half of the
    /// development files that selected (nil: all of them).
    mutating func record(goEmotionsTrain: String?, goEmotionsDev: String?, selectionHalf: DevelopmentHalf?) throws {
        goEmotionsTrainSHA256 = try goEmotionsTrain.map { try SHA256.hex(fileAt: URL(fileURLWithPath: $0)) }
        goEmotionsDevSHA256 = try goEmotionsDev.map { try SHA256.hex(fileAt: URL(fileURLWithPath: $0)) }
        self.selectionHalf = selectionHalf?.rawValue
    }

    /// Warns when `path` (SHA-256 `hash`) trained these heads, or chose something for them: every
    /// figure on it is then on seen data, or a selection figure, unless `half` is the report half of
    /// a file only whose select half chose.
    func warnIfSeen(_ path: String, hash: String, half: DevelopmentHalf?, logger: Logger) {
        let metadata: Logger.Metadata = ["data.path": "\(path)", "heads.version": "\(version)"]
        if hash == trainingDataSHA256 || hash == goEmotionsTrainSHA256 || (training["refit"] != nil && hash == validationDataSHA256) {
            logger.warning("The heads were trained on this file: the figures are on seen data", metadata: metadata)
        } else if hash == validationDataSHA256 || hash == goEmotionsDevSHA256 {
            if selectionHalf == nil {
                logger.warning("This file chose the heads' epochs, weights or calibration: the figures are selection figures", metadata: metadata)
            } else if half != .report {
                logger.warning("Half of this file chose the heads' epochs, weights or calibration: pass --dev-half report for figures of the half that chose nothing",
                               metadata: metadata.merging(["heads.selection_half": "\(selectionHalf!)"]) { $1 })
            }
        }
    }
}
