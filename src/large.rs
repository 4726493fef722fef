//! Memory for the data of large blocks (at least [`LARGE_MIN`] bytes).
//!
//! glibc serves large blocks badly in a store that rewrites them: a freed
//! 64 KiB chunk is often trimmed back to the kernel or lands in another
//! thread's arena, and every 1 MiB block is its own `mmap`, so each new
//! block costs page faults (up to one per 4 KiB page) before its copy can
//! start. jemalloc keeps freed extents for reuse instead and hands out
//! exact multiples of the page size for large requests (with the
//! cache-oblivious offset disabled), so a 64 KiB or 1 MiB block takes
//! exactly its size.
//!
//! Block data comes from a few jemalloc arenas of its own (one per pair of
//! cores, at most [`MAX_ARENAS`]; a thread's arena follows its counter
//! stripe number, `counters::my_stripe`), never from a thread cache, so the program's own allocations
//! never share them. Each arena returns freed memory that is not reused to
//! the system after about [`DECAY_MS`] milliseconds: jemalloc's background
//! threads purge it even when nothing else runs. jemalloc here has its own
//! symbol prefix, so it never replaces the program's `malloc`.
//!
//! With the test-only `system-alloc` feature the data comes from the Rust
//! global allocator instead, so that AddressSanitizer sees it.

#[cfg(feature = "system-alloc")]
use std::alloc::Layout;

/// Blocks with at least this many data bytes keep their data in a
/// separate allocation from this module; smaller ones keep it inline,
/// after the key (see `block.rs`). jemalloc's smallest page-granular size
/// class.
pub(crate) const LARGE_MIN: usize = 16 * 1024;

/// How long freed block memory that nothing reuses stays with the process
/// before jemalloc's background threads return it to the system.
#[cfg(not(feature = "system-alloc"))]
pub(crate) const DECAY_MS: isize = 1000;

/// The most arenas used for block data.
#[cfg(not(feature = "system-alloc"))]
const MAX_ARENAS: usize = 16;

/// Alignment of large block data, at least: a cache line (jemalloc gives
/// whole pages).
pub(crate) const ALIGN: usize = 64;

/// Allocates `size` (at least [`LARGE_MIN`]) bytes for block data, zeroed
/// if `zeroed`. Null when the memory cannot be had.
pub(crate) fn alloc(size: usize, zeroed: bool) -> *mut u8 {
    debug_assert!(size >= LARGE_MIN);
    #[cfg(not(feature = "system-alloc"))]
    {
        use tikv_jemalloc_sys as je;
        let zero = if zeroed { je::MALLOCX_ZERO } else { 0 };
        let flags = arena_flags() | je::MALLOCX_ALIGN(ALIGN) | zero;
        // SAFETY: `size` is non-zero; the flags name an arena created by
        // `arena_flags` (or none) and no thread cache.
        unsafe { je::mallocx(size, flags).cast() }
    }
    #[cfg(feature = "system-alloc")]
    {
        let Ok(layout) = Layout::from_size_align(size, ALIGN) else {
            return std::ptr::null_mut();
        };
        // SAFETY: the layout has a non-zero size.
        unsafe {
            if zeroed {
                std::alloc::alloc_zeroed(layout)
            } else {
                std::alloc::alloc(layout)
            }
        }
    }
}

/// Frees block data from [`alloc`].
///
/// # Safety
/// `ptr` must come from [`alloc`] with this `size`, and not be used again.
pub(crate) unsafe fn dealloc(ptr: *mut u8, size: usize) {
    #[cfg(not(feature = "system-alloc"))]
    {
        use tikv_jemalloc_sys as je;
        let flags = je::MALLOCX_ALIGN(ALIGN) | je::MALLOCX_TCACHE_NONE;
        // SAFETY: per this function's contract; sized deallocation with
        // the size and alignment it was allocated with, bypassing the thread
        // cache as the allocation did.
        unsafe { je::sdallocx(ptr.cast(), size, flags) };
    }
    #[cfg(feature = "system-alloc")]
    {
        let layout = Layout::from_size_align(size, ALIGN).expect("valid at allocation");
        // SAFETY: per this function's contract.
        unsafe { std::alloc::dealloc(ptr, layout) };
    }
}

/// `mallocx` flags for this thread's arena: `MALLOCX_ARENA` of one of the
/// block arenas (created on first use), and no thread cache. Without
/// arenas (jemalloc refused to create them), jemalloc's automatic ones.
#[cfg(not(feature = "system-alloc"))]
fn arena_flags() -> std::ffi::c_int {
    use std::sync::OnceLock;
    use tikv_jemalloc_sys as je;

    static ARENAS: OnceLock<Vec<std::ffi::c_int>> = OnceLock::new();
    let arenas = ARENAS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let wanted = cores.div_ceil(2).clamp(1, MAX_ARENAS);
        // Background purging, so the decay below happens on time even when
        // no thread allocates. Best effort: without it, purging waits for
        // the next allocations.
        mallctl_write(c"background_thread", true);
        (0..wanted)
            .map_while(|_| create_arena())
            .map(|a| je::MALLOCX_ARENA(a as usize) | je::MALLOCX_TCACHE_NONE)
            .collect()
    });
    match arenas.len() {
        0 => je::MALLOCX_TCACHE_NONE,
        n => arenas[crate::counters::my_stripe() % n],
    }
}

/// A new jemalloc arena whose unused pages go back to the system after
/// [`DECAY_MS`] (dirty pages are purged straight away, with no "muzzy"
/// stage); `None` if jemalloc refuses.
#[cfg(not(feature = "system-alloc"))]
fn create_arena() -> Option<u32> {
    use tikv_jemalloc_sys as je;
    let mut index: u32 = 0;
    let mut len = std::mem::size_of::<u32>();
    // With the huge-page hooks when there are any (see `huge_page_hooks`),
    // else jemalloc's own.
    let (mut hooks, hooks_len) = match huge_page_hooks() {
        Some(hooks) => (hooks, std::mem::size_of::<*mut je::extent_hooks_t>()),
        None => (std::ptr::null_mut(), 0),
    };
    let new = if hooks.is_null() {
        std::ptr::null_mut()
    } else {
        (&raw mut hooks).cast()
    };
    // SAFETY: "arenas.create" writes the new arena's index, an unsigned
    // int, through `oldp`, whose size `oldlenp` gives; its new value, when
    // given, is an `extent_hooks_t *` to a table that lives for the rest
    // of the process.
    let rc = unsafe {
        je::mallctl(
            c"arenas.create".as_ptr(),
            (&raw mut index).cast(),
            &mut len,
            new,
            hooks_len,
        )
    };
    if rc != 0 {
        return None;
    }
    for (knob, ms) in [("dirty_decay_ms", DECAY_MS), ("muzzy_decay_ms", 0)] {
        // Best effort: with the default decay the memory still goes back,
        // only later.
        if let Ok(name) = std::ffi::CString::new(format!("arena.{index}.{knob}")) {
            mallctl_write(&name, ms);
        }
    }
    Some(index)
}

/// A transparent huge page on x86-64 Linux.
#[cfg(not(feature = "system-alloc"))]
const HUGE_PAGE: usize = 2 << 20;

/// The smallest mapping the huge-page hooks mark: jemalloc grows each
/// arena's mappings from 2 MiB up, so a store reaches this size after
/// some tens of MiB of blocks, and a small store keeps 4 KiB pages.
#[cfg(not(feature = "system-alloc"))]
const HUGE_MAPPING_MIN: usize = 8 << 20;

/// jemalloc's own extent hooks (arena 0's, which every arena starts with),
/// read once; the huge-page hooks call them.
#[cfg(not(feature = "system-alloc"))]
static DEFAULT_HOOKS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// The most mappings marked for huge pages at once (see [`MARKED`]):
/// jemalloc grows an arena's mappings geometrically, so even a store of
/// terabytes makes a few dozen per arena. Past this, new mappings simply
/// keep 4 KiB pages.
#[cfg(not(feature = "system-alloc"))]
const MARKED_MAX: usize = 1024;

/// The most bytes of mappings marked for huge pages at once (see
/// [`record_marked`]). [`purged`] may give each 2 MiB region of them a
/// mark of its own, and each such region can be a memory area (VMA) of the
/// process; the system limits how many a process has (`vm.max_map_count`,
/// 65,530 by default), so the marked regions stay at 8,192. Mappings past
/// this keep 4 KiB pages.
#[cfg(not(feature = "system-alloc"))]
const MARKED_BYTES_MAX: usize = 8192 * HUGE_PAGE;

/// A mapping marked for huge pages: start and length (0 for a free slot).
#[cfg(not(feature = "system-alloc"))]
type Mapping = (usize, usize);

/// The block arenas' mappings that carry `MADV_HUGEPAGE`. A fixed table
/// behind a std mutex: the hooks run inside jemalloc, which may also be
/// the program's allocator, so they must not allocate. The lock is taken
/// only inside the hooks, with nothing else held but jemalloc's own locks,
/// and never around a call into jemalloc, except its own `dalloc` and
/// `destroy` hooks (which only unmap: see [`huge_page_hooks`]).
#[cfg(not(feature = "system-alloc"))]
static MARKED: std::sync::Mutex<[Mapping; MARKED_MAX]> =
    std::sync::Mutex::new([(0, 0); MARKED_MAX]);

/// The locked table, or `None` in a child process made by `fork` (see
/// [`FORKED`]), where the hooks keep no books.
#[cfg(not(feature = "system-alloc"))]
fn marked() -> Option<std::sync::MutexGuard<'static, [Mapping; MARKED_MAX]>> {
    if FORKED.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    Some(MARKED.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Set in a child process made by `fork` (by [`watch_fork`]'s handler).
/// Another thread of the parent may have held [`MARKED`]'s lock at the
/// fork; that thread does not exist in the child, so the lock would never
/// be released there, and the child's first purge or new mapping in a
/// block arena would wait for it forever. So in the child the hooks only
/// call jemalloc's own, and mark and settle nothing: its mappings keep
/// whatever marks they had at the fork.
#[cfg(not(feature = "system-alloc"))]
static FORKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Registers, once, the `pthread_atfork` handler that sets [`FORKED`] in
/// the child; `false` if it could not be registered (then no hooks are
/// installed).
#[cfg(all(target_os = "linux", not(feature = "system-alloc")))]
fn watch_fork() -> bool {
    extern "C" fn in_child() {
        FORKED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    // SAFETY: registers a child handler that only stores to an atomic,
    // which is async-signal-safe as a forked child requires.
    *REGISTERED.get_or_init(|| unsafe { libc::pthread_atfork(None, None, Some(in_child)) } == 0)
}

/// Records a new mapping for [`purged`], if there is room in the table
/// and under [`MARKED_BYTES_MAX`]; `false` (do not mark it) if not.
#[cfg(not(feature = "system-alloc"))]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn record_marked(start: usize, len: usize) -> bool {
    let Some(mut marked) = marked() else {
        return false;
    };
    let total = marked.iter().map(|m| m.1).sum::<usize>();
    if total.saturating_add(len) > MARKED_BYTES_MAX {
        return false;
    }
    match marked.iter_mut().find(|slot| slot.1 == 0) {
        Some(slot) => {
            *slot = (start, len);
            true
        }
        None => false,
    }
}

/// Forgets the marked mappings that overlap `[start, start + len)` (which
/// jemalloc is unmapping), on the locked table.
#[cfg(not(feature = "system-alloc"))]
fn forget(marked: &mut [Mapping], start: usize, len: usize) {
    let end = start.saturating_add(len);
    for slot in marked.iter_mut() {
        if slot.1 != 0 && slot.0 < end && start < slot.0.saturating_add(slot.1) {
            *slot = (0, 0);
        }
    }
}

/// The system's page size (0 if unknown), read once. Hooks may call it:
/// it does not allocate.
#[cfg(all(target_os = "linux", not(feature = "system-alloc")))]
fn page_size() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static PAGE: AtomicUsize = AtomicUsize::new(usize::MAX);
    match PAGE.load(Ordering::Relaxed) {
        usize::MAX => {
            // SAFETY: sysconf has no preconditions.
            let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(0);
            PAGE.store(page, Ordering::Relaxed);
            page
        }
        page => page,
    }
}

/// Whether no page of the 2 MiB region at `region` is resident (`mincore`):
/// then nothing in it is in use, and `khugepaged` will not fill it. `false`
/// where that cannot be told.
#[cfg(all(target_os = "linux", not(feature = "system-alloc")))]
fn is_empty(region: usize) -> bool {
    const MAX_PAGES: usize = 512;
    let page = page_size();
    if page == 0 || HUGE_PAGE / page > MAX_PAGES {
        return false;
    }
    let mut resident = [0u8; MAX_PAGES];
    // SAFETY: `region` is page-aligned and mapped (part of a mapping that
    // jemalloc holds, under the table's lock); the vector has a byte for
    // each of its HUGE_PAGE / page pages.
    let rc = unsafe {
        libc::mincore(
            region as *mut std::ffi::c_void,
            HUGE_PAGE,
            resident.as_mut_ptr(),
        )
    };
    rc == 0 && resident[..HUGE_PAGE / page].iter().all(|&b| b & 1 == 0)
}

/// After jemalloc gave `[start, start + len)` back to the system: keeps the
/// kernel from filling it again, in every marked mapping it touches.
///
/// The 2 MiB regions the range covers whole are empty now, and `khugepaged`
/// never fills an empty region, so they keep (or get back) the mark: the
/// next blocks written there fault in huge pages again. A region the range
/// covers only in part (at most one at each end) may still hold other
/// blocks, and `khugepaged` would fill the returned part to make the huge
/// page whole; unless it is now empty ([`is_empty`]), it loses the mark
/// (`MADV_NOHUGEPAGE`) until a later purge leaves it empty.
///
/// A region marked while empty may later take blocks that fill it only in
/// part, and then `khugepaged` may fill the rest: up to 2 MiB for each
/// such region until a purge settles it again. jemalloc places new blocks
/// at the lowest free addresses, so those are the few regions at the edge
/// of what it has filled, as in a fresh mapping.
///
/// After a lazy purge (`MADV_FREE`, which jemalloc uses only if the
/// arena's muzzy decay could not be set to 0) the pages stay mapped until
/// the kernel needs them, so every region it touches loses the mark, the
/// whole ones included: `khugepaged` could otherwise collapse them into a
/// huge page nobody can reclaim. A later forced purge of a whole region
/// gives the mark back.
#[cfg(all(target_os = "linux", not(feature = "system-alloc")))]
fn purged(start: usize, len: usize, lazy: bool) {
    use std::ffi::c_void;
    if len == 0 {
        return;
    }
    let end = start.saturating_add(len);
    let advise = |from: usize, to: usize, advice: libc::c_int| {
        // SAFETY: a hint on part of a mapping that jemalloc made and still
        // holds (one it unmaps is forgotten under the same lock, in
        // `dalloc` and `destroy`); it changes no byte.
        unsafe { libc::madvise(from as *mut c_void, to - from, advice) };
    };
    let down = |a: usize| a & !(HUGE_PAGE - 1);
    let up = |a: usize| down(a.saturating_add(HUGE_PAGE - 1));
    let Some(marked) = marked() else {
        return;
    };
    for &(m_start, m_len) in marked.iter() {
        let m_end = m_start.saturating_add(m_len);
        if m_len == 0 || m_end <= start || end <= m_start {
            continue;
        }
        let (lo, hi) = (start.max(m_start), end.min(m_end));
        let (whole_lo, whole_hi) = (up(lo), down(hi));
        if whole_lo < whole_hi {
            let advice = if lazy {
                libc::MADV_NOHUGEPAGE
            } else {
                libc::MADV_HUGEPAGE
            };
            advise(whole_lo, whole_hi, advice);
        }
        // The partly returned regions at each end; only a region wholly
        // inside the mapping can ever be a huge page.
        let settle = |region: usize| {
            if region >= m_start && region.saturating_add(HUGE_PAGE) <= m_end {
                let advice = if !lazy && is_empty(region) {
                    libc::MADV_HUGEPAGE
                } else {
                    libc::MADV_NOHUGEPAGE
                };
                advise(region, region + HUGE_PAGE, advice);
            }
        };
        let (head, tail) = (down(lo), down(hi));
        if lo != head || (whole_lo >= whole_hi && hi != tail) {
            settle(head);
        }
        if hi != tail && tail != head {
            settle(tail);
        }
    }
}

/// Extent hooks for the block arenas: jemalloc's own, except that each new
/// data mapping is marked for transparent huge pages (`MADV_HUGEPAGE`), and
/// that memory jemalloc gives back is kept from being filled again.
///
/// - Marked, the kernel backs block data with 2 MiB pages where it can.
///   Over a store far larger than the TLB covers, a read of a random 64 KiB
///   block then takes one TLB miss instead of sixteen, and a fresh mapping
///   faults once per 2 MiB instead of once per 4 KiB.
/// - A purge of part of a huge page (freed blocks that nothing reused, see
///   [`DECAY_MS`]) splits it and gives the freed part back. But in a marked
///   region the kernel's `khugepaged` would later fill such a part again,
///   to make the huge page whole: a store that kept one 64 KiB block in
///   every 2 MiB would creep back to 2 MiB resident per block (measured: 28
///   MiB resident after deleting down to 8 MiB, then 16 MiB more every 10
///   seconds). So after each purge the 2 MiB regions it returned only in
///   part lose the mark, and those it returned whole get it back
///   ([`purged`]).
/// - Only these arenas' mappings are marked, never the program's own
///   memory. Where the system has huge pages switched off ("never") no
///   mark has an effect; where they are always on, the regions returned in
///   part are unmarked all the same, for the same reason.
///
/// `None` when jemalloc's hooks cannot be read.
#[cfg(not(feature = "system-alloc"))]
fn huge_page_hooks() -> Option<*mut tikv_jemalloc_sys::extent_hooks_t> {
    use std::ffi::{c_uint, c_void};
    use std::sync::OnceLock;
    use tikv_jemalloc_sys as je;

    /// The hooks table, at a fixed address for the rest of the process.
    struct Hooks(je::extent_hooks_t);
    // SAFETY: the table is written once, before it is shared, and then
    // only read (by jemalloc, on any thread).
    unsafe impl Sync for Hooks {}
    // SAFETY: as for Sync: it holds function pointers only, which any
    // thread may call.
    unsafe impl Send for Hooks {}
    static HOOKS: OnceLock<Option<Box<Hooks>>> = OnceLock::new();

    /// jemalloc's own table. Set before these hooks were installed; the
    /// hooks never panic (a panic could not unwind into jemalloc).
    fn default() -> Option<*mut je::extent_hooks_t> {
        DEFAULT_HOOKS.get().map(|&d| d as *mut je::extent_hooks_t)
    }

    /// jemalloc's own `alloc`, then the huge-page mark on what it mapped.
    unsafe extern "C" fn alloc(
        _hooks: *mut je::extent_hooks_t,
        new_addr: *mut c_void,
        size: usize,
        alignment: usize,
        zero: *mut bool,
        commit: *mut bool,
        arena: c_uint,
    ) -> *mut c_void {
        let Some(default) = default() else {
            return std::ptr::null_mut();
        };
        // SAFETY: `default` is jemalloc's own table, which lives for the
        // process; its `alloc` takes exactly these arguments (it is what
        // jemalloc would have called without these hooks).
        let p = unsafe {
            match (*default).alloc {
                Some(f) => f(default, new_addr, size, alignment, zero, commit, arena),
                None => std::ptr::null_mut(),
            }
        };
        // Only data mappings of a store past a few MiB: the arena's own
        // metadata comes 2 MiB-aligned, and the unused tail of a small
        // mapping would otherwise fill a whole huge page on first touch
        // (a store of one block would hold megabytes).
        // Only its whole 2 MiB regions: a region it shares with a
        // neighbouring mapping (the kernel merges neighbours with the same
        // flags into one area) is never settled by `purged`, so it must
        // not carry the mark. And only where the huge page is 2 MiB: with
        // 4 KiB base pages.
        #[cfg(target_os = "linux")]
        if !p.is_null()
            && alignment < HUGE_PAGE
            && size >= HUGE_MAPPING_MIN
            && page_size() == 4096
            && record_marked(p.addr(), size)
        {
            let from = p.addr().next_multiple_of(HUGE_PAGE);
            let to = (p.addr() + size) & !(HUGE_PAGE - 1);
            if from < to {
                // SAFETY: a hint on a mapping jemalloc has just made; it
                // changes no byte, and a refusal (no huge-page support)
                // is harmless.
                unsafe { libc::madvise(p.with_addr(from), to - from, libc::MADV_HUGEPAGE) };
            }
        }
        p
    }

    /// jemalloc's own purge (`lazy` or forced), then, if it purged, the
    /// end of the huge-page mark of the mapping it purged in.
    unsafe fn purge(
        lazy: bool,
        addr: *mut c_void,
        size: usize,
        offset: usize,
        length: usize,
        arena: c_uint,
    ) -> bool {
        let Some(default) = default() else {
            return true; // not purged
        };
        // SAFETY: as in `alloc`: jemalloc's own hook, with the arguments
        // jemalloc passed.
        let failed = unsafe {
            let f = if lazy {
                (*default).purge_lazy
            } else {
                (*default).purge_forced
            };
            match f {
                Some(f) => f(default, addr, size, offset, length, arena),
                None => true,
            }
        };
        #[cfg(target_os = "linux")]
        if !failed {
            purged(addr.addr().saturating_add(offset), length, lazy);
        }
        failed
    }

    /// `purge_lazy` (`LAZY`) or `purge_forced`: [`purge`] with the
    /// arguments jemalloc passed.
    unsafe extern "C" fn purge_hook<const LAZY: bool>(
        _hooks: *mut je::extent_hooks_t,
        addr: *mut c_void,
        size: usize,
        offset: usize,
        length: usize,
        arena: c_uint,
    ) -> bool {
        // SAFETY: the arguments jemalloc passed.
        unsafe { purge(LAZY, addr, size, offset, length, arena) }
    }

    /// Runs `unmap` (jemalloc's own `dalloc` or `destroy`, which returns
    /// whether it kept the mapping) under the table's lock, and forgets the
    /// mapping if it was unmapped: a new mapping at the same address, which
    /// records itself only after that, is never taken for it.
    fn unmapping(addr: *mut c_void, size: usize, unmap: impl FnOnce() -> bool) -> bool {
        let mut marked = marked();
        let kept = unmap();
        if let (false, Some(marked)) = (kept, &mut marked) {
            forget(&mut marked[..], addr.addr(), size);
        }
        kept
    }

    /// jemalloc's own `dalloc`, as [`unmapping`]. (On Linux jemalloc keeps
    /// its mappings: the default declines, and jemalloc purges the memory
    /// instead, which `purge` sees; where the system does not overcommit
    /// it decommits instead, which maps fresh memory over the range,
    /// without the mark.)
    unsafe extern "C" fn dalloc(
        _hooks: *mut je::extent_hooks_t,
        addr: *mut c_void,
        size: usize,
        committed: bool,
        arena: c_uint,
    ) -> bool {
        let Some(default) = default() else {
            return true; // kept
        };
        // SAFETY: as in `alloc`.
        unmapping(addr, size, || unsafe {
            match (*default).dalloc {
                Some(f) => f(default, addr, size, committed, arena),
                None => true,
            }
        })
    }

    /// jemalloc's own `destroy` (it always unmaps), as [`unmapping`].
    unsafe extern "C" fn destroy(
        _hooks: *mut je::extent_hooks_t,
        addr: *mut c_void,
        size: usize,
        committed: bool,
        arena: c_uint,
    ) {
        let Some(default) = default() else {
            return;
        };
        // SAFETY: as in `alloc`.
        unmapping(addr, size, || unsafe {
            if let Some(f) = (*default).destroy {
                f(default, addr, size, committed, arena);
            }
            false
        });
    }

    HOOKS
        .get_or_init(|| {
            if !hooks_apply() {
                return None;
            }
            let null: *mut je::extent_hooks_t = std::ptr::null_mut();
            // SAFETY: "arena.0.extent_hooks" is an `extent_hooks_t *`.
            let default = unsafe { mallctl_read(c"arena.0.extent_hooks", null) }?;
            if default.is_null() {
                return None;
            }
            DEFAULT_HOOKS.get_or_init(|| default as usize);
            // SAFETY: jemalloc's table, valid for the process.
            let mut table = unsafe { *default };
            table.alloc?;
            table.alloc = Some(alloc);
            // Each wrapper calls jemalloc's own hook, and stands in only
            // where jemalloc has one (a missing hook means "not done").
            if table.purge_lazy.is_some() {
                table.purge_lazy = Some(purge_hook::<true>);
            }
            if table.purge_forced.is_some() {
                table.purge_forced = Some(purge_hook::<false>);
            }
            if table.dalloc.is_some() {
                table.dalloc = Some(dalloc);
            }
            if table.destroy.is_some() {
                table.destroy = Some(destroy);
            }
            Some(Box::new(Hooks(table)))
        })
        .as_ref()
        .map(|h| (&raw const h.0).cast_mut())
}

/// Whether the huge-page hooks can do their work here, so that they are
/// installed only where they do: Linux with 4 KiB pages and 2 MiB
/// transparent huge pages (`hpage_pmd_size`; the regions [`purged`]
/// settles are [`HUGE_PAGE`]s), jemalloc keeping its mappings rather than
/// unmapping them (`opt.retain`, its default on Linux: without it
/// jemalloc may unmap part of a marked mapping, and the table, which
/// records whole mappings, would lose track of the rest), and the fork
/// handler registered ([`FORKED`]).
#[cfg(not(feature = "system-alloc"))]
fn hooks_apply() -> bool {
    #[cfg(target_os = "linux")]
    {
        let pmd = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok());
        page_size() == 4096 && pmd == Some(HUGE_PAGE) && jemalloc_retains() && watch_fork()
    }
    #[cfg(not(target_os = "linux"))]
    false
}

/// jemalloc's `opt.retain`: whether it keeps the mappings it no longer
/// uses (purging their pages) instead of unmapping them.
#[cfg(all(target_os = "linux", not(feature = "system-alloc")))]
fn jemalloc_retains() -> bool {
    // SAFETY: "opt.retain" is a bool.
    unsafe { mallctl_read(c"opt.retain", false) }.unwrap_or(false)
}

/// Reads the jemalloc control `name` (`None` if jemalloc refuses), starting
/// from `init`.
///
/// # Safety
/// `T` is the control's type.
#[cfg(not(feature = "system-alloc"))]
unsafe fn mallctl_read<T: Copy>(name: &std::ffi::CStr, init: T) -> Option<T> {
    let mut value = init;
    let mut len = std::mem::size_of::<T>();
    // SAFETY: a read through `oldp`, a live `T` whose size `oldlenp`
    // gives, of a control of type `T` (the caller's promise); nothing is
    // written.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            (&raw mut value).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    (rc == 0 && len == std::mem::size_of::<T>()).then_some(value)
}

/// Writes `value` to the jemalloc control `name`, best effort: every
/// control written here only tunes when memory goes back to the system.
#[cfg(not(feature = "system-alloc"))]
fn mallctl_write<T: Copy>(name: &std::ffi::CStr, mut value: T) {
    // SAFETY: a write-only call: `newp` points at a live `T` of
    // `newlen` bytes, which is the type the control takes (bool for
    // "background_thread", ssize_t for the decay times).
    unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            (&raw mut value).cast(),
            std::mem::size_of::<T>(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the page at `addr` lies in a memory area marked for huge
    /// pages (`hg` in `/proc/self/smaps`).
    #[cfg(all(target_os = "linux", not(feature = "system-alloc")))]
    fn marked_at(addr: usize) -> bool {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or("");
            if let Some((a, b)) = first.split_once('-') {
                if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                {
                    inside = (a..b).contains(&addr);
                    continue;
                }
            }
            if let Some(flags) = line.strip_prefix("VmFlags:") {
                if inside {
                    return flags.split_whitespace().any(|f| f == "hg");
                }
            }
        }
        panic!("{addr:#x} is not mapped");
    }

    /// `purged` on a mapping of four 2 MiB regions of its own: a region a
    /// purge returns in part keeps the mark only while it has no resident
    /// page, and one a purge returns whole gets the mark back.
    #[test]
    #[cfg(all(target_os = "linux", not(feature = "system-alloc")))]
    fn purges_settle_the_regions_they_touch() {
        if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage").exists()
            || page_size() != 4096
        {
            return; // no transparent huge pages, or not of 2 MiB
        }
        const LEN: usize = 4 * HUGE_PAGE;
        // SAFETY: a new private anonymous mapping, unmapped below.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                LEN + HUGE_PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(raw, libc::MAP_FAILED);
        let base = raw.addr().next_multiple_of(HUGE_PAGE);
        let region = |i: usize| base + i * HUGE_PAGE;
        assert!(record_marked(base, LEN));
        // SAFETY: the part of the mapping recorded above.
        let rc = unsafe { libc::madvise(raw.with_addr(base), LEN, libc::MADV_HUGEPAGE) };
        assert_eq!(rc, 0);
        let touch = |addr: usize| {
            // SAFETY: inside the mapping, writable.
            unsafe { raw.with_addr(addr).cast::<u8>().write_volatile(1) };
        };
        // A block left in region 1; regions 0 and 2 untouched.
        touch(region(1) + 4096);
        // Returned: the second half of region 0 and the first of region 1.
        purged(region(0) + HUGE_PAGE / 2, HUGE_PAGE, false);
        assert!(marked_at(region(0)), "region 0 is empty: it keeps the mark");
        assert!(
            !marked_at(region(1)),
            "region 1 holds a block: it loses the mark"
        );
        assert!(marked_at(region(2)), "region 2 was not touched");
        // Emptied and returned whole, region 1 gets the mark back.
        // SAFETY: inside the mapping; zeroes pages nothing else uses.
        unsafe { libc::madvise(raw.with_addr(region(1)), HUGE_PAGE, libc::MADV_DONTNEED) };
        purged(region(1), HUGE_PAGE, false);
        assert!(marked_at(region(1)), "region 1 is empty again");
        // After a lazy purge (its pages stay mapped) every region it
        // returns in part loses the mark, empty or not, and none gets it
        // back.
        touch(region(3));
        purged(region(2) + 4096, HUGE_PAGE, true);
        assert!(!marked_at(region(2)) && !marked_at(region(3)));
        // SAFETY: as above.
        unsafe { libc::madvise(raw.with_addr(region(3)), HUGE_PAGE, libc::MADV_DONTNEED) };
        purged(region(3), HUGE_PAGE, true);
        assert!(!marked_at(region(3)), "not marked again after a lazy purge");
        // A lazy purge takes the mark from the regions it returns whole too.
        assert!(marked_at(region(0)));
        purged(region(0), HUGE_PAGE, true);
        assert!(
            !marked_at(region(0)),
            "a whole region returned lazily keeps the mark"
        );
        forget(&mut marked().expect("not a forked child")[..], base, LEN);
        // SAFETY: the mapping made above, no longer recorded or used.
        assert_eq!(unsafe { libc::munmap(raw, LEN + HUGE_PAGE) }, 0);
    }

    /// A child made by `fork` while another thread of the parent holds the
    /// table's lock does not wait for it: what a purge and a new mapping in
    /// a block arena do in the child returns at once, and marks nothing.
    #[test]
    #[cfg(all(target_os = "linux", not(feature = "system-alloc")))]
    fn a_forked_child_never_waits_for_the_table() {
        use std::sync::mpsc::channel;
        assert!(watch_fork());
        let (held, is_held) = channel();
        let (release, released) = channel::<()>();
        let holder = std::thread::spawn(move || {
            let _table = MARKED.lock();
            held.send(()).unwrap();
            // Gives up after 5 s: jemalloc's fork handler takes its own
            // locks before the fork, and a thread inside a hook holding one
            // of them may be waiting for this one (then the fork goes
            // ahead once it is released, and the child may find it free).
            let _ = released.recv_timeout(std::time::Duration::from_secs(5));
        });
        is_held.recv().unwrap();
        // SAFETY: the child runs only `purged` and `record_marked`, which
        // allocate nothing, then `_exit`s.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            purged(HUGE_PAGE * 512, HUGE_PAGE, false);
            let recorded = record_marked(HUGE_PAGE * 512, HUGE_MAPPING_MIN);
            // SAFETY: ends the child without running the parent's exit code.
            unsafe { libc::_exit(i32::from(recorded) + 10) };
        }
        assert!(pid > 0, "fork failed");
        let mut status = 0;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let exited = loop {
            // SAFETY: waits for the child made above, without blocking.
            if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
                break true;
            }
            if std::time::Instant::now() > deadline {
                // SAFETY: ends and reaps the child made above.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, &mut status, 0);
                }
                break false;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        release.send(()).unwrap();
        holder.join().unwrap();
        assert!(exited, "the child waited 10 s for the table's lock");
        assert!(
            libc::WIFEXITED(status),
            "the child did not exit: {status:#x}"
        );
        assert_eq!(
            libc::WEXITSTATUS(status),
            10,
            "the child recorded a mapping"
        );
    }

    #[test]
    fn cache_size_is_plausible() {
        let bytes = cache_bytes();
        assert!((256 << 10..=4 << 30).contains(&bytes), "{bytes}");
    }

    /// Every byte arrives, none outside the range is touched, by either
    /// kind of copy, for lengths around the streaming threshold and the
    /// 64-byte step, from and to addresses at several offsets within 16
    /// bytes.
    #[test]
    fn copy_in_copies_exactly_the_range() {
        let src: Vec<u8> = (0..STREAM_MIN + 300)
            .map(|i| (i * 7 + i / 251) as u8)
            .collect();
        let mut dst = vec![0xEEu8; STREAM_MIN + 400];
        for len in [
            0,
            1,
            63,
            64,
            65,
            STREAM_MIN - 1,
            STREAM_MIN,
            STREAM_MIN + 1,
            STREAM_MIN + 77,
        ] {
            for (so, dof) in [(0, 0), (1, 0), (0, 3), (5, 11), (15, 15)] {
                let mut check = |copy: &dyn Fn(*mut u8, *const u8)| {
                    dst.fill(0xEE);
                    copy(dst[dof..].as_mut_ptr(), src[so..].as_ptr());
                    let what = format!("len {len} at {so}/{dof}");
                    assert_eq!(&dst[dof..dof + len], &src[so..so + len], "{what}");
                    let outside = dst[..dof].iter().chain(&dst[dof + len..]);
                    assert!(outside.into_iter().all(|&b| b == 0xEE), "{what}");
                };
                // Through both paths of copy_in: the streaming copy (a new
                // destination), then the ordinary one (the same again).
                for _ in 0..2 {
                    // SAFETY: both ranges lie inside their vectors, which
                    // do not overlap.
                    check(&|d, s| unsafe { copy_in(d, s, len, true) });
                }
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above.
                check(&|d, s| unsafe { stream_copy(d, s, len) });
            }
        }
    }

    #[test]
    fn allocations_are_aligned_zeroed_and_writable() {
        for size in [LARGE_MIN, 64 << 10, 100_000, 1 << 20] {
            let p = alloc(size, true);
            assert!(!p.is_null());
            assert_eq!(p as usize % ALIGN, 0);
            // SAFETY: `p` has `size` bytes, zeroed.
            let bytes = unsafe { std::slice::from_raw_parts_mut(p, size) };
            assert!(bytes.iter().all(|&b| b == 0));
            bytes.fill(7);
            // SAFETY: from `alloc` with `size`.
            unsafe { dealloc(p, size) };
        }
    }

    #[test]
    fn copy_copies_exactly_at_every_gap() {
        let src: Vec<u8> = (0..20_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut dst = vec![0u8; 20_000 + 8192];
        // Destinations at every gap from the source modulo 4 KiB that
        // matters (0 to 64 bytes above, and a few others), sizes around
        // the pieces.
        let base = src.as_ptr().addr() % 4096;
        for gap in (0..=64).chain([100, 2048, 4095]) {
            let at = (base + gap + 4096 - dst.as_ptr().addr() % 4096) % 4096;
            for len in [0, 1, 1023, 1024, 1025, 2048, 3000, 16_384, 20_000] {
                dst.fill(0xEE);
                // SAFETY: `at + len` is within `dst`, `len` within `src`.
                unsafe { copy(dst.as_mut_ptr().add(at), src.as_ptr(), len) };
                assert_eq!(&dst[at..at + len], &src[..len], "gap {gap}, {len} bytes");
                assert!(
                    dst[..at].iter().all(|&b| b == 0xEE),
                    "gap {gap}, {len} bytes"
                );
                assert!(
                    dst[at + len..].iter().all(|&b| b == 0xEE),
                    "gap {gap}, {len} bytes"
                );
            }
        }
    }

    #[test]
    fn an_impossible_size_is_null() {
        assert!(alloc(isize::MAX as usize, false).is_null());
    }
}

/// Copies of at least this many bytes into a new block may bypass the
/// cache (see [`copy_in`]).
pub(crate) const STREAM_MIN: usize = 32 * 1024;

/// How many of its latest destinations a thread remembers (see
/// [`copy_in`]): with blocks of [`STREAM_MIN`] bytes and more, a few of
/// them fill a core's second-level cache.
const RECENT: usize = 4;

thread_local! {
    /// The addresses this thread copied its latest large blocks to.
    static RECENT_DST: std::cell::Cell<[usize; RECENT]> = const { std::cell::Cell::new([0; RECENT]) };
}

/// Copies `len` bytes from `src` into the data of a new block at `dst`.
///
/// With `cold` (the store holds more than the cache, see
/// [`cache_bytes`]), from [`STREAM_MIN`] bytes on, the copy uses
/// non-temporal stores unless `dst` is one of the last few places this
/// thread copied a block to. A new block's memory is usually that of a
/// block freed a moment ago; when that block was old (a rewrite of a
/// random key in a large store), its memory is no longer in the cache, and
/// an ordinary store would first read every destination line from memory
/// only to overwrite it. Writing straight to memory saves that read and
/// leaves the cache to the data being read. When the freed memory is still
/// in the cache (a store smaller than the cache, or one key rewritten over
/// and over), an ordinary copy is faster. Go's own `memmove` streams large
/// copies too, which is what a Go map store pays for a write.
///
/// # Safety
/// `src` is readable and `dst` writable for `len` bytes, and they do not
/// overlap.
pub(crate) unsafe fn copy_in(dst: *mut u8, src: *const u8, len: usize, cold: bool) {
    #[cfg(target_arch = "x86_64")]
    if cold && len >= STREAM_MIN {
        let recent = RECENT_DST.with(|r| {
            let mut seen = r.get();
            let hit = seen.contains(&dst.addr());
            seen.rotate_right(1);
            seen[0] = dst.addr();
            r.set(seen);
            hit
        });
        if !recent {
            // SAFETY: as this function's.
            unsafe { stream_copy(dst, src, len) };
            return;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = cold;
    // SAFETY: as this function's.
    unsafe { copy(dst, src, len) };
}

/// Pieces that [`copy`] cuts a copy into when it would meet 4 KiB
/// aliasing: below the smallest size glibc copies with `rep movsb`.
const ALIASED_PIECE: usize = 1024;

/// `memcpy`, safe from 4 KiB aliasing. glibc copies 2 KiB to a few
/// hundred KiB with `rep movsb`, which on some CPUs runs many times slower
/// when the destination lies a few bytes above the source modulo 4 KiB.
/// Measured on the 2-core test machine (AMD EPYC, glibc 2.36), 64 KiB: 1.3
/// µs, but 22 µs with the destination 8 to 24 bytes above, and 2.6 µs 40
/// to 56 bytes above. A block of 16 KiB or more starts on a page, so a
/// buffer 16 bytes past a page boundary, where `malloc` places many, meets
/// it on every read. Such a copy goes in pieces of [`ALIASED_PIECE`] bytes,
/// which glibc copies with vector moves: 1.49 µs for the same 64 KiB.
/// Larger copies are cut too: where glibc switches to non-temporal stores
/// depends on the cache size (here from 512 KiB on, where aliasing no
/// longer shows), and on a machine with a larger cache a badly placed
/// copy of a few MiB could still meet it; pieces cost about a tenth more
/// than one well-placed copy (1 MiB: 30.5 against 27.7 µs).
///
/// # Safety
/// As `ptr::copy_nonoverlapping`: `src` readable and `dst` writable for
/// `len` bytes, not overlapping.
#[inline]
pub(crate) unsafe fn copy(dst: *mut u8, src: *const u8, len: usize) {
    let gap = dst.addr().wrapping_sub(src.addr()) % 4096;
    if len <= ALIASED_PIECE || gap == 0 || gap >= 64 {
        // SAFETY: as this function's.
        unsafe { std::ptr::copy_nonoverlapping(src, dst, len) };
        return;
    }
    let mut done = 0;
    while done < len {
        let n = (len - done).min(ALIASED_PIECE);
        // SAFETY: `[done, done + n)` lies within the caller's ranges.
        unsafe { std::ptr::copy_nonoverlapping(src.add(done), dst.add(done), n) };
        done += n;
    }
}

/// The size of the last-level cache of CPU 0 (from sysfs, as `lscpu`
/// reads it), or 32 MiB where it cannot be read: a store holding more
/// block bytes than this mostly finds freed block memory cold.
pub(crate) fn cache_bytes() -> u64 {
    static BYTES: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BYTES.get_or_init(|| {
        let size = |index: u32| -> Option<u64> {
            let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{index}");
            let text = std::fs::read_to_string(format!("{dir}/size")).ok()?;
            let text = text.trim();
            let (num, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
            let shift = match unit {
                "K" => 10,
                "M" => 20,
                _ => return None,
            };
            Some(num.parse::<u64>().ok()? << shift)
        };
        (0..8).rev().find_map(size).unwrap_or(32 << 20)
    })
}

/// [`copy_in`] with SSE2 non-temporal stores (SSE2 is part of x86-64), 64
/// bytes a step on a 16-byte aligned destination, then a fence so the
/// stores are visible before the block is published.
///
/// # Safety
/// As [`copy_in`].
#[cfg(target_arch = "x86_64")]
unsafe fn stream_copy(dst: *mut u8, src: *const u8, len: usize) {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_sfence, _mm_stream_si128};
    let head = dst.align_offset(16).min(len);
    // SAFETY: within the caller's ranges; from `head` on, `d` is 16-byte
    // aligned, as the non-temporal store requires, and every 64-byte step
    // stays below `len`.
    unsafe {
        std::ptr::copy_nonoverlapping(src, dst, head);
        let (mut d, mut s, mut left) = (dst.add(head), src.add(head), len - head);
        while left >= 64 {
            let v = [0, 16, 32, 48].map(|o| _mm_loadu_si128(s.add(o).cast::<__m128i>()));
            for (o, x) in [0, 16, 32, 48].into_iter().zip(v) {
                _mm_stream_si128(d.add(o).cast::<__m128i>(), x);
            }
            d = d.add(64);
            s = s.add(64);
            left -= 64;
        }
        std::ptr::copy_nonoverlapping(s, d, left);
        _mm_sfence();
    }
}
