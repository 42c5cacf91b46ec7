import CKernels

/// The process's allocator settings, for the long-running commands.
enum Allocator {
    /// Fixes glibc's mmap threshold at 128 KiB. By default it rises each time a large block is
    /// freed, after which large transient buffers (a coalesced batch's rows and messages, a COPY
    /// payload) come from the heap and leave holes between long-lived allocations that the heap
    /// never returns: measured on `bench pipeline --dialogues 100000`, RSS grew 1,340 bytes per
    /// live dialogue with the default and 1,120 with the threshold fixed.
    static func configure() {
        _ = ck_set_mmap_threshold(128 * 1_024)
    }
}
