;; LIST's body for a whole maildrop, "n size\r\n" per message. Compiled at build time by
;; scripts/build-wasm.mjs into dist/src/pop3/commands/list-lines.wasm, which list-lines.ts
;; loads; src/wasm/shipped.test.ts checks that the shipped bytes are this file compiled.
;;
;; In JavaScript the 100,000 lines of a big maildrop take about 20 ms on the first LIST of
;; a process, before the JIT has compiled the loop; WebAssembly is compiled when loaded.
;;
;; Memory: the sizes as u32 from offset 0 (list-lines.ts grows the memory to fit), the
;; output after them.
(module
  (memory (export "memory") 1)

  ;; Writes `n` in decimal at `o`; returns the offset after it.
  (func $decimal (param $n i32) (param $o i32) (result i32)
    (local $end i32)
    (local $q i32)
    (local.set $end (i32.add (local.get $o) (i32.const 1)))
    ;; One digit more for each power of ten n reaches (u32: at most 10 digits).
    (block $done
      (br_if $done (i32.lt_u (local.get $n) (i32.const 10)))
      (local.set $end (i32.add (local.get $end) (i32.const 1)))
      (br_if $done (i32.lt_u (local.get $n) (i32.const 100)))
      (local.set $end (i32.add (local.get $end) (i32.const 1)))
      (br_if $done (i32.lt_u (local.get $n) (i32.const 1000)))
      (local.set $end (i32.add (local.get $end) (i32.const 1)))
      (br_if $done (i32.lt_u (local.get $n) (i32.const 10000)))
      (local.set $end (i32.add (local.get $end) (i32.const 1)))
      (br_if $done (i32.lt_u (local.get $n) (i32.const 100000)))
      (local.set $end (i32.add (local.get $end) (i32.const 1)))
      (br_if $done (i32.lt_u (local.get $n) (i32.const 1000000)))
      (local.set $end (i32.add (local.get $end) (i32.const 1)))
      (br_if $done (i32.lt_u (local.get $n) (i32.const 10000000)))
      (local.set $end (i32.add (local.get $end) (i32.const 1)))
      (br_if $done (i32.lt_u (local.get $n) (i32.const 100000000)))
      (local.set $end (i32.add (local.get $end) (i32.const 1)))
      (br_if $done (i32.lt_u (local.get $n) (i32.const 1000000000)))
      (local.set $end (i32.add (local.get $end) (i32.const 1))))
    ;; Digits from the last one back. n / 10 as (n * 0xCCCCCCCD) >> 35, exact for every u32:
    ;; the baseline compiler, which runs this until the optimizing one takes over, emits a
    ;; real division for i32.div_u, ten times slower.
    (local.set $o (local.get $end))
    (loop $digit
      (local.set $o (i32.sub (local.get $o) (i32.const 1)))
      (local.set $q (i32.wrap_i64 (i64.shr_u
        (i64.mul (i64.extend_i32_u (local.get $n)) (i64.const 0xCCCCCCCD))
        (i64.const 35))))
      (i32.store8 (local.get $o)
        (i32.add (i32.const 48) (i32.sub (local.get $n) (i32.mul (local.get $q) (i32.const 10)))))
      (local.set $n (local.get $q))
      (br_if $digit (local.get $n)))
    (local.get $end))

  ;; `count` lines from the sizes at 0, written from `out`; returns the bytes written.
  (func (export "lines") (param $count i32) (param $out i32) (result i32)
    (local $i i32)
    (local $o i32)
    (local.set $o (local.get $out))
    (block $end
      (loop $line
        (br_if $end (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $o (call $decimal (i32.add (local.get $i) (i32.const 1)) (local.get $o)))
        (i32.store8 (local.get $o) (i32.const 32))
        (local.set $o (call $decimal
          (i32.load (i32.shl (local.get $i) (i32.const 2)))
          (i32.add (local.get $o) (i32.const 1))))
        ;; "\r\n" as one little-endian 16-bit store.
        (i32.store16 (local.get $o) (i32.const 0x0a0d))
        (local.set $o (i32.add (local.get $o) (i32.const 2)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $line)))
    (i32.sub (local.get $o) (local.get $out))))
