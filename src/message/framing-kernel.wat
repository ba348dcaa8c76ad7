;; The inner loop of RETR: stored bytes to POP3 wire bytes (RFC 1939 section 3): a bare LF
;; becomes CRLF, and a '.' at the start of a line is doubled. Compiled at build time by
;; scripts/build-wasm.mjs into dist/src/message/framing-kernel.wasm, which framing-kernel.ts
;; loads; src/wasm/shipped.test.ts checks that the shipped bytes are this file compiled.
;;
;; Most blocks of 16 bytes of mail text hold no LF: they are moved with one 16-byte load and
;; store. A block with LFs is copied segment by segment, one per LF.
;;
;; Memory layout (framing-kernel.ts keeps the same numbers): the input at 16, with in[-1]
;; holding the byte before the chunk (LF at the start of a message); the output after it.
;; 16-byte stores may write up to 15 bytes past what counts: the output area has room for
;; that, and the next write or the returned length covers it.
(module
  ;; 13 pages of 64 KiB: 16 + 256 KiB of input + 16, then up to 512 KiB + 16 of output.
  (memory (export "memory") 13)

  ;; Byte by byte, for the last bytes of a chunk (fewer than 16). Returns the new output end.
  (func $scalar (param $in i32) (param $i i32) (param $end i32) (param $o i32) (result i32)
    (local $b i32)
    (local $p i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $b (i32.load8_u (i32.add (local.get $in) (local.get $i))))
        (local.set $p (i32.load8_u (i32.sub (i32.add (local.get $in) (local.get $i)) (i32.const 1))))
        ;; LF without CR before it: add the CR.
        (if (i32.and (i32.eq (local.get $b) (i32.const 10)) (i32.ne (local.get $p) (i32.const 13)))
          (then
            (i32.store8 (local.get $o) (i32.const 13))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))))
        ;; '.' starting a line: double it.
        (if (i32.and (i32.eq (local.get $p) (i32.const 10)) (i32.eq (local.get $b) (i32.const 46)))
          (then
            (i32.store8 (local.get $o) (i32.const 46))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))))
        (i32.store8 (local.get $o) (local.get $b))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $o))

  ;; Frames in[0 .. len) to out; returns the number of bytes written.
  (func (export "frame") (param $in i32) (param $len i32) (param $out i32) (result i32)
    (local $i i32)
    (local $o i32)
    (local $pos i32)   ;; start of the segment not yet copied
    (local $m i32)     ;; bit k set: byte i + k is an LF not yet handled
    (local $lf i32)
    (local $end i32)
    (local $v v128)
    (local.set $o (local.get $out))
    (block $blocks_done
      (loop $block
        (br_if $blocks_done (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $len)))
        (local.set $v (v128.load (i32.add (local.get $in) (local.get $i))))
        (local.set $m (i8x16.bitmask (i8x16.eq (local.get $v) (i8x16.splat (i32.const 10)))))
        (if
          ;; Most blocks: no LF, and no '.' starting a line at the first byte.
          (i32.and
            (i32.eqz (local.get $m))
            (i32.eqz
              (i32.and
                (i32.eq (i32.load8_u (i32.sub (i32.add (local.get $in) (local.get $i)) (i32.const 1))) (i32.const 10))
                (i32.eq (i32.load8_u (i32.add (local.get $in) (local.get $i))) (i32.const 46)))))
          (then
            (v128.store (local.get $o) (local.get $v))
            (local.set $o (i32.add (local.get $o) (i32.const 16))))
          (else
            ;; Segment by segment: the text up to each LF, a CR if missing, the LF, and a
            ;; doubled '.' wherever one starts a line.
            (local.set $pos (local.get $i))
            (local.set $end (i32.add (local.get $i) (i32.const 16)))
            (block $segments_done
              (loop $segment
                (if (i32.and
                      (i32.eq (i32.load8_u (i32.sub (i32.add (local.get $in) (local.get $pos)) (i32.const 1))) (i32.const 10))
                      (i32.eq (i32.load8_u (i32.add (local.get $in) (local.get $pos))) (i32.const 46)))
                  (then
                    (i32.store8 (local.get $o) (i32.const 46))
                    (local.set $o (i32.add (local.get $o) (i32.const 1)))))
                (br_if $segments_done (i32.eqz (local.get $m)))
                (local.set $lf (i32.add (local.get $i) (i32.ctz (local.get $m))))
                (local.set $m (i32.and (local.get $m) (i32.sub (local.get $m) (i32.const 1))))
                ;; 16 bytes from pos; only those before the LF count.
                (v128.store (local.get $o) (v128.load (i32.add (local.get $in) (local.get $pos))))
                (local.set $o (i32.sub (i32.add (local.get $o) (local.get $lf)) (local.get $pos)))
                (if (i32.ne (i32.load8_u (i32.sub (i32.add (local.get $in) (local.get $lf)) (i32.const 1))) (i32.const 13))
                  (then
                    (i32.store8 (local.get $o) (i32.const 13))
                    (local.set $o (i32.add (local.get $o) (i32.const 1)))))
                (i32.store8 (local.get $o) (i32.const 10))
                (local.set $o (i32.add (local.get $o) (i32.const 1)))
                (local.set $pos (i32.add (local.get $lf) (i32.const 1)))
                (br_if $segment (i32.lt_u (local.get $pos) (local.get $end)))))
            ;; The rest of the block after its last LF.
            (v128.store (local.get $o) (v128.load (i32.add (local.get $in) (local.get $pos))))
            (local.set $o (i32.sub (i32.add (local.get $o) (local.get $end)) (local.get $pos)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $block)))
    (local.set $o (call $scalar (local.get $in) (local.get $i) (local.get $len) (local.get $o)))
    (i32.sub (local.get $o) (local.get $out))))
