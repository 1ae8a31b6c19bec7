;; The masking kernel of src/framing/mask-simd.ts, in WebAssembly text format.
;; RFC 6455 §5.3: octet i of the payload is XORed with octet (i mod 4) of the
;; masking key. Here the key arrives as one 32-bit word already rotated to the
;; phase of the first octet, so the same word lines up with every 4-byte step.
;;
;; The embedded bytes in mask-simd.ts are this file compiled with wabt's
;; wat2wasm (`npm run build:wasm`); test/unit/mask-simd.test.ts checks that they
;; still match.
(module
  ;; 2 pages (128 KiB): the JS side copies payload pieces of up to 64 KiB in
  ;; and out of a scratch area inside this memory.
  (memory (export "memory") 2 2)

  ;; XOR memory[ptr, ptr + len) in place with `key` (its low byte applies to
  ;; memory[ptr]: WebAssembly memory is little-endian).
  (func (export "mask") (param $ptr i32) (param $len i32) (param $key i32)
    (local $end i32)
    (local $key16 v128)
    (local.set $key16 (i32x4.splat (local.get $key)))

    ;; 64 bytes a round: four 16-byte vectors (unaligned loads are allowed).
    (local.set $end (i32.add (local.get $ptr) (i32.and (local.get $len) (i32.const -64))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (v128.store offset=0 (local.get $ptr)
          (v128.xor (v128.load offset=0 (local.get $ptr)) (local.get $key16)))
        (v128.store offset=16 (local.get $ptr)
          (v128.xor (v128.load offset=16 (local.get $ptr)) (local.get $key16)))
        (v128.store offset=32 (local.get $ptr)
          (v128.xor (v128.load offset=32 (local.get $ptr)) (local.get $key16)))
        (v128.store offset=48 (local.get $ptr)
          (v128.xor (v128.load offset=48 (local.get $ptr)) (local.get $key16)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 64)))
        (br $next)))

    ;; Then whole 32-bit words (fewer than 16 of them).
    (local.set $len (i32.and (local.get $len) (i32.const 63)))
    (local.set $end (i32.add (local.get $ptr) (i32.and (local.get $len) (i32.const -4))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (i32.store (local.get $ptr) (i32.xor (i32.load (local.get $ptr)) (local.get $key)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 4)))
        (br $next)))

    ;; Then the last 0-3 bytes, shifting the next key byte down each time.
    (local.set $end (i32.add (local.get $ptr) (i32.and (local.get $len) (i32.const 3))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (i32.store8 (local.get $ptr) (i32.xor (i32.load8_u (local.get $ptr)) (local.get $key)))
        (local.set $key (i32.shr_u (local.get $key) (i32.const 8)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (br $next)))))
