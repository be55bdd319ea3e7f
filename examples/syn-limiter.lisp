;;; SYN-flood limiter: each IPv4 source may open at most +syn-limit+
;;; connections (TCP SYN without ACK) per +window-ns+; further SYNs in the
;;; window are dropped. The per-source state is an LRU hash map, so a flood of
;;; spoofed sources evicts old entries instead of filling the map.

(defconstant +syn-limit+ 16)
(defconstant +window-ns+ 1000000000)   ; one second

(defstruct syn-window
  (start u64)   ; ktime-get-ns when the window opened
  (count u64))  ; SYNs seen in it

(defmap syn-windows :type :lru-hash :key-type u32 :value-type syn-window :max-entries 65536)

(defprog syn-limiter (:type :xdp)
  (with-ipv4 (data data-end ip)
    (unless (= (ipv4-protocol ip) +ip-proto-tcp+)
      (return XDP_PASS))
    (let ((tcp (ipv4-payload ip)))
      (unless (= (logand (tcp-flags tcp) (logior +tcp-syn+ +tcp-ack+)) +tcp-syn+)
        (return XDP_PASS))
      (let ((now (ktime-get-ns))
            (source (ipv4-src-addr ip)))
        (if-let (window (getmap syn-windows source))
          (if (> (- now (syn-window-start window)) +window-ns+)
              (setf (syn-window-start window) now
                    (syn-window-count window) 1)
              (progn
                (atomic-add window 8 1)
                (when (> (syn-window-count window) +syn-limit+)
                  (return XDP_DROP))))
          (let ((fresh (make-syn-window)))
            (setf (syn-window-start fresh) now
                  (syn-window-count fresh) 1)
            (setf (getmap syn-windows source) fresh))))))
  XDP_PASS)
