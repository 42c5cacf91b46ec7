import ArgumentParser
import Training

extension DevelopmentHalf: ExpressibleByArgument {}
