;;; Flow metadata exporter (seed 003): for each IPv4 packet, send its source
;;; and destination address, ports and protocol to user space through a ring
;;; buffer; pass every packet. `whistler run` decodes the records with the
;;; flow-meta struct named by the ring buffer's :value-type.

(defstruct flow-meta
  (src-ip u32)      ; network order, as in the packet
  (dst-ip u32)
  (src-port u16)    ; network order; 0 for protocols without ports
  (dst-port u16)
  (protocol u8))

(defmap ringbuf :type :ringbuf :max-entries (ash 1 24) :value-type flow-meta)

(defprog xdp-extract-metadata (:type :xdp)
  (let* ((data (xdp-data))
         (data-end (xdp-data-end))
         (ip (parse-ipv4 data data-end)))
    (when ip
      (let ((src-port 0)
            (dst-port 0)
            (protocol (ipv4-protocol ip)))
        (when (or (= protocol +ip-proto-tcp+) (= protocol +ip-proto-udp+))
          (let ((ports (ipv4-payload ip)))
            (when (> (+ ports +udp-hdr-len+) data-end)
              (return XDP_PASS))
            (setf src-port (load u16 ports 0)
                  dst-port (load u16 ports 2))))
        (with-ringbuf (meta ringbuf (sizeof flow-meta))
          (setf (flow-meta-src-ip meta) (ipv4-src-addr ip)
                (flow-meta-dst-ip meta) (ipv4-dst-addr ip)
                (flow-meta-src-port meta) src-port
                (flow-meta-dst-port meta) dst-port
                (flow-meta-protocol meta) protocol)))))
  XDP_PASS)
